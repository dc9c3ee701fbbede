"""Pages for people, served by the API process itself: each a view of the answers the API gives, linking to
the JSON behind it, with its tables readable without JavaScript.

Jinja2 templates (``api/templates``) render the answers of the read model; the timelines are drawn in the
browser by vis-timeline, vendored with its licence under ``api/static/vendor`` (no CDN): the page embeds
its intervals and events as JSON for ``static/timeline.js``. ``/docs`` and ``/redoc`` load their scripts
from the same folder, so they render with no network.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from treaty_ledger.api.dependencies import ReaderKey, ServicesDep
from treaty_ledger.api.routers.params import as_of_date, known_at_moment
from treaty_ledger.bootstrap import Services
from treaty_ledger.domain.dates import today
from treaty_ledger.domain.errors import LedgerError
from treaty_ledger.domain.events import EVENT_TYPES
from treaty_ledger.domain.states import normalise_state, state_name
from treaty_ledger.projections.intervals import Interval
from treaty_ledger.projections.read_model import COMPLIANCE_KINDS, MEMBERSHIP_KINDS
from treaty_ledger.store.receipts import signed_checkpoint

__all__ = ["STATIC", "VENDOR", "error_page", "router"]

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
VENDOR = {"timeline": "vendor/vis-timeline-8.5.4", "swagger": "vendor/swagger-ui-dist-5.35.0", "redoc": "vendor/redoc-2.5.4"}
"""The vendored libraries' folders under ``static/`` (see ``static/vendor/README.md``)."""

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(state_name=state_name, vendor=VENDOR)

router = APIRouter(include_in_schema=False)

DRAWN_STATUSES = ("signatory", "contracting", "party", "withdrawing", "withdrawn", "terminated", "expired")


def _query(**params: Any) -> str:
    """A query string of the parameters that are set."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _checkpoint(services: Services) -> dict[str, Any] | None:
    """The newest signed checkpoint the page was computed at, or ``None`` when the ledger signs none."""
    try:
        issued = signed_checkpoint(services.tree, services.ledger)
    except LedgerError:
        return None
    return {"size": issued.size, "root": issued.root.hex()[:16], "issued_at": issued.issued_at.isoformat(timespec="seconds")}


def _events_by_id(services: Services, treaty: str, known_at: datetime | None) -> dict[str, dict[str, Any]]:
    """Every event of the treaty as known at ``known_at``, by id, with its source and its retraction and corrections marked."""
    page = services.read.events(treaty, known_at=known_at, limit=100_000)
    events = {}
    for body in page.listed():
        events[body["id"]] = {k: body.get(k) for k in ("id", "type", "date", "state", "source", "retracted", "retracted_by", "corrected_by",
                                                       "corrects", "retracts", "note", "claimed_by")}
    return events


def _until(row: Interval, horizon: date) -> str:
    return (row.until or max(horizon, (row.since or horizon) + timedelta(days=1))).isoformat()


def _status_items(rows: Iterable[Interval], horizon: date, group_of: Any = None) -> list[dict[str, Any]]:
    """The rows a membership timeline draws, as vis-timeline items: statuses, suspensions, provisional application."""
    items = []
    for row in rows:
        doc = row.doc
        if row.kind == "status" and doc["status"] in DRAWN_STATUSES:
            label = doc["status"]
        elif row.kind == "suspension":
            label = "suspending"
        elif row.kind == "provisional":
            label = "provisionally applying"
        else:
            continue
        state = doc["state"]
        items.append({"id": f"{row.kind}:{row.key}:{row.since}", "group": group_of(row) if group_of else state, "start": doc["since"],
                      "end": _until(row, horizon), "content": label, "className": f"tl-{label.replace(' ', '-')}",
                      "title": f"{state} {label} from {doc['since']}" + (f" until {doc['until']}" if doc.get("until") else ""),
                      "events": list(doc["events"])})
    return items


def _phase_items(rows: Iterable[Interval], horizon: date) -> list[dict[str, Any]]:
    return [{"id": f"phase:{row.since}", "group": "__treaty", "start": row.doc["since"] or "1945-01-01", "end": _until(row, horizon),
             "content": row.doc["phase"].replace("_", " "), "className": f"tl-phase-{row.doc['phase']}", "events": list(row.doc["events"]),
             "title": f"{row.doc['phase'].replace('_', ' ')} from {row.doc['since'] or 'the start'}"}
            for row in rows if row.kind == "phase" and row.doc["since"]]


def _parties_over_time(rows: Iterable[Interval], horizon: date) -> dict[str, Any]:
    """The number of parties over time, as the points of a step line (an SVG drawn on the server: no script needed)."""
    changes: dict[date, int] = {}
    for row in rows:
        if row.kind == "status" and row.doc.get("in_force") and row.since:
            changes[row.since] = changes.get(row.since, 0) + 1
            if row.until:
                changes[row.until] = changes.get(row.until, 0) - 1
    if not changes:
        return {"points": "", "max": 0, "first": None, "last": None, "steps": []}
    days = sorted(changes)
    start, end = days[0], max(horizon, days[-1])
    span = max((end - start).days, 1)
    count, peak, steps, points = 0, 0, [], []
    for day in days:
        x = round(1000 * (day - start).days / span, 1)
        points.append((x, count))
        count += changes[day]
        points.append((x, count))
        steps.append((day.isoformat(), count))
        peak = max(peak, count)
    points.append((1000, count))
    height = max(peak, 1)
    return {"points": " ".join(f"{x},{round(95 - 90 * c / height, 1)}" for x, c in points), "max": peak, "first": start.isoformat(),
            "last": end.isoformat(), "steps": steps}


PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
"""The pages' Content-Security-Policy: scripts from this origin only (the timeline's data is JSON, never run)."""


def _page(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    """``template`` rendered with ``context``, under :data:`PAGE_POLICY`."""
    response = templates.TemplateResponse(request, template, context)
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


_TITLES = {401: "A key is needed", 403: "Not allowed", 404: "Not found", 409: "Conflict", 413: "Too large", 422: "Invalid request",
           500: "The views need a rebuild", 503: "Not available now"}


def error_page(request: Request, status: int, error: dict[str, Any], headers: dict[str, str] | None) -> HTMLResponse:
    """An error of a page route as a page: the status and words of the API's JSON error (:mod:`treaty_ledger.api.errors`)."""
    response = _page(request, "error.html", {"request": request, "checkpoint": None, "status": status, "error": error,
                                             "title": _TITLES.get(status, "Error")})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _common(request: Request, services: Services, **extra: Any) -> dict[str, Any]:
    return {"request": request, "checkpoint": _checkpoint(services), **extra}


@router.get("/", response_class=HTMLResponse)
def index(request: Request, services: ServicesDep, _: ReaderKey, q: str | None = None) -> HTMLResponse:
    """The treaties in the ledger: in force today or not, parties today, the latest event; a search over treaties and states."""
    now = today()
    summaries = {t.id: t for t in services.ledger.list_treaties()}
    treaties = []
    needle = (q or "").strip().casefold()
    for row in services.read.treaties():
        title = str(row.doc.get("title") or row.treaty)
        if needle and needle not in title.casefold() and needle not in row.treaty:
            continue
        membership = services.read.membership_as_of(row.treaty, now)
        summary = summaries.get(row.treaty)
        latest = services.read.view.records(row.treaty, after=max(summary.events - 1, 0) if summary else 0) if summary else []
        treaties.append({"id": row.treaty, "title": title, "in_force": membership["in_force"], "phase": membership["phase"],
                         "parties": len(membership["parties"]), "latest": latest[-1] if latest else None})
    state = None
    if needle:
        try:
            code = normalise_state(q, field="q")
            state = {"code": code, "name": state_name(code)}
        except LedgerError:
            state = None
    return _page(request, "index.html", _common(request, services, treaties=treaties, q=q or "", state=state, today=now))


@router.get("/treaties/{treaty}", response_class=HTMLResponse)
def treaty_page(request: Request, treaty: str, services: ServicesDep, _: ReaderKey, as_of: str | None = None, known_at: str | None = None) -> HTMLResponse:
    """A treaty's membership timeline, with the membership table as of a date and as known at a moment."""
    day, moment = as_of_date(as_of), known_at_moment(known_at)
    membership, statuses = services.read.membership_and_statuses(treaty, day, moment)
    row = services.read.treaty(treaty)
    since = {code: status.since for code, status in statuses.items()}
    rows = services.read.timeline(row.treaty, MEMBERSHIP_KINDS, moment)
    horizon = max(today(), day)
    states = sorted({r.doc["state"] for r in rows if r.kind == "status" and r.doc["status"] in DRAWN_STATUSES})
    timeline = {
        "groups": [{"id": "__treaty", "content": "treaty"}, *({"id": s, "content": s, "title": state_name(s)} for s in states)],
        "items": [*_phase_items(rows, horizon), *_status_items(rows, horizon)],
        "events": _events_by_id(services, row.treaty, moment),
        "as_of": day.isoformat(),
    }
    iso = timeline["as_of"]
    ended = sorted((r.doc for r in rows if r.kind == "status" and r.doc["status"] in ("expired", "terminated")
                    and r.doc["since"] <= iso and (not r.doc.get("until") or iso < r.doc["until"])), key=lambda d: d["state"])
    params = _query(as_of=iso, known_at=known_at)
    return _page(request, "treaty.html", _common(
        request, services, treaty=row, title=row.doc.get("title") or row.treaty, membership=membership, since=since, timeline=timeline, ended=ended,
        parties=_parties_over_time(rows, horizon), as_of=day.isoformat(), known_at=known_at or "", params=params))


@router.get("/treaties/{treaty}/compliance", response_class=HTMLResponse)
def compliance_page(request: Request, treaty: str, services: ServicesDep, _: ReaderKey, as_of: str | None = None, known_at: str | None = None) -> HTMLResponse:
    """Restrictions, allegations, denied flights and suspensions as intervals on a timeline, and the picture as of a date."""
    day, moment = as_of_date(as_of), known_at_moment(known_at)
    answer = services.read.compliance_as_of(treaty, day, moment)
    row = services.read.treaty(treaty)
    horizon = max(today(), day)
    items = []
    for r in services.read.timeline(row.treaty, COMPLIANCE_KINDS, moment):
        doc = r.doc
        if r.kind == "restriction":
            group, label = "restrictions", f"{doc['state']}: {doc['kind'].replace('_', ' ')}, {doc['area']}"
        elif r.kind == "suspension":
            group, label = "suspensions", f"{doc['state']} suspends" + (f" towards {', '.join(doc['towards'])}" if doc["towards"] else "")
        elif r.kind == "allegation":
            group, label = "allegations", f"{doc['accuser']} accuses {doc['accused']}: {doc['subject']}"
        else:
            group, label = "denied flights", f"{doc['host']} denies {', '.join(doc['observers'])}"
        start = doc.get("since") or doc.get("made_on") or doc.get("denied_on")
        events = list(doc["events"]) + [x["id"] for x in doc.get("responses", [])]
        items.append({"id": f"{r.kind}:{r.key}", "group": group, "start": start, "end": _until(r, horizon) if r.kind in ("restriction", "suspension") else None,
                      "type": "range" if r.kind in ("restriction", "suspension") else "point", "content": label[:80], "title": label,
                      "className": f"tl-{r.kind}", "events": events})
    groups = [{"id": g, "content": g} for g in ("restrictions", "suspensions", "allegations", "denied flights")]
    timeline = {"groups": groups, "items": items, "events": _events_by_id(services, row.treaty, moment), "as_of": day.isoformat()}
    params = _query(as_of=day.isoformat(), known_at=known_at)
    return _page(request, "compliance.html", _common(
        request, services, treaty=row, title=row.doc.get("title") or row.treaty, answer=answer, timeline=timeline, as_of=day.isoformat(),
        known_at=known_at or "", params=params))


@router.get("/treaties/{treaty}/changes", response_class=HTMLResponse)
def changes_page(request: Request, treaty: str, services: ServicesDep, _: ReaderKey, known_at: str | None = None) -> HTMLResponse:
    """What changed between two dates, in words."""
    start = as_of_date(request.query_params.get("from") or "2000-01-01", "from")
    end = as_of_date(request.query_params.get("to"), "to")
    answer = services.read.changes_between(treaty, start, end, known_at_moment(known_at))
    row = services.read.treaty(treaty)
    events = _events_by_id(services, row.treaty, known_at_moment(known_at))
    params = _query(**{"from": start.isoformat(), "to": end.isoformat(), "known_at": known_at})
    return _page(request, "changes.html", _common(
        request, services, treaty=row, title=row.doc.get("title") or row.treaty, answer=answer, events=events, start=start.isoformat(),
        end=end.isoformat(), known_at=known_at or "", params=params))


@router.get("/treaties/{treaty}/events", response_class=HTMLResponse)
def events_page(request: Request, treaty: str, services: ServicesDep, _: ReaderKey, state: str | None = None, type: str | None = None,  # noqa: A002
                known_at: str | None = None, cursor: str | None = None) -> HTMLResponse:
    """The audit history, paged, filterable by state and type, each event with its source; corrections and retractions marked."""
    row = services.read.treaty(treaty)
    page = services.read.events(row.treaty, state=state or None, types=[type] if type else None, known_at=known_at_moment(known_at),
                                limit=100, cursor=cursor or None)
    events = page.listed()
    filters = _query(state=state, type=type, known_at=known_at)
    return _page(request, "events.html", _common(
        request, services, treaty=row, title=row.doc.get("title") or row.treaty, events=events, next_cursor=page.next_cursor,
        state=state or "", type=type or "", known_at=known_at or "", filters=filters, types=sorted(EVENT_TYPES)))


@router.get("/states/{state}", response_class=HTMLResponse)
def state_page(request: Request, state: str, services: ServicesDep, _: ReaderKey, as_of: str | None = None, known_at: str | None = None) -> HTMLResponse:
    """One state across every treaty, as a timeline, and its status in each as of a date."""
    day, moment = as_of_date(as_of), known_at_moment(known_at)
    answer = services.read.state_across(state, day, moment)
    code = answer["state"]
    horizon = max(today(), day)
    items, events, groups = [], {}, []
    for treaty in answer["treaties"]:
        rows = [r for r in services.read.timeline(treaty["treaty"], ("status", "suspension", "provisional"), moment) if r.doc.get("state") == code]
        if not rows:
            continue
        groups.append({"id": treaty["treaty"], "content": treaty["treaty"]})
        items.extend(_status_items(rows, horizon, group_of=lambda r, t=treaty["treaty"]: t))
        events.update(_events_by_id(services, treaty["treaty"], moment))
    for item in items:
        item["id"] = f"{item['group']}:{item['id']}"
    timeline = {"groups": groups, "items": items, "events": events, "as_of": day.isoformat()}
    params = _query(as_of=day.isoformat(), known_at=known_at)
    return _page(request, "state.html", _common(
        request, services, code=code, name=state_name(code), answer=answer, timeline=timeline, as_of=day.isoformat(), known_at=known_at or "",
        params=params))


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API docs, their scripts served from the package."""
    static = f"{request.scope.get('root_path', '')}/static/{VENDOR['swagger']}"
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Treaty Ledger - API docs", swagger_js_url=f"{static}/swagger-ui-bundle.js",
                               swagger_css_url=f"{static}/swagger-ui.css", swagger_favicon_url=f"{static}/favicon-32x32.png")


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """The API reference, its script served from the package, without web fonts."""
    static = f"{request.scope.get('root_path', '')}/static/{VENDOR['redoc']}"
    return get_redoc_html(openapi_url="/openapi.json", title="Treaty Ledger - API reference", redoc_js_url=f"{static}/redoc.standalone.js",
                          redoc_favicon_url=f"/static/{VENDOR['swagger']}/favicon-32x32.png", with_google_fonts=False)
