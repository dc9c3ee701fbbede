"""Answers as CSV, for people and spreadsheets: ``?format=csv`` or ``Accept: text/csv`` on a read.

Each kind of answer becomes one table (:data:`TABLES`): a row per state, item, change or event, with
the ids of the events behind it, so that a spreadsheet keeps the audit trail of the JSON.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response

from treaty_ledger.domain.states import state_name
from treaty_ledger.projections.read_model import Status

__all__ = ["TABLES", "AnswerKind", "csv_response", "csv_text", "wants_csv"]

AnswerKind = Literal["membership", "state", "compliance", "changes", "reservations", "events", "across"]

Row = dict[str, Any]


def _ids(events: Iterable[Any]) -> str:
    return " ".join(e["id"] if isinstance(e, dict) else str(e) for e in events)


def _membership(answer: dict[str, Any]) -> Iterable[Row]:
    """A row per state: its status, ``date`` (the note or deposit behind a withdrawal or a pending membership), ``since`` (when
    its status began) and the ``events`` behind it, from ``answer["statuses"]`` (the
    :class:`~treaty_ledger.projections.read_model.Status` of each state, read with the answer)."""
    suspended = {s["state"] for s in answer["suspended"]}
    provisional = set(answer.get("provisionally_applying", []))
    withdrawing = {w["state"]: w for w in answer["withdrawing"]}
    statuses: dict[str, Status] = answer["statuses"]

    def row(code: str, status: str, day: str, effective_on: str, *, suspending: bool = False) -> Row:
        known = statuses.get(code)
        return {"state": code, "status": status, "date": day, "effective_on": effective_on, "suspending": suspending,
                "provisionally_applying": code in provisional and status in ("signatory", "contracting"),
                "since": known.since if known else "", "events": _ids(known.events) if known else ""}

    for code in answer["parties"]:
        w = withdrawing.get(code)
        yield row(code, "withdrawing" if w else "party", w["notified_on"] if w else "", w["effective_on"] if w else "",
                  suspending=code in suspended)
    for item in answer["contracting"]:
        yield row(item["state"], "contracting", item["deposited_on"], item.get("party_from") or "")
    for code in answer["signatories"]:
        yield row(code, "signatory", "", "")
    for item in answer["withdrawn"]:
        yield row(item["state"], "withdrawn", item["notified_on"], item["effective_on"])


def _state(answer: dict[str, Any]) -> Iterable[Row]:
    yield {name: answer[name] for name in ("treaty", "state", "as_of", "status", "since", "until", "party", "effective_on", "notified_on",
                                           "suspended", "provisionally_applying")} | {
        "reservations": len(answer["reservations"]), "declarations": len(answer["declarations"]), "events": _ids(answer["events"])}


def _compliance(answer: dict[str, Any]) -> Iterable[Row]:
    for r in answer["restrictions"]:
        yield {"kind": "restriction", "id": r["id"], "state": r["state"], "other_state": ", ".join(r["towards"]), "what": f"{r['kind']}: {r['area']}: {r['detail']}",
               "since": r["since"], "standing": "in force", "events": _ids(r["events"])}
    for a in answer["allegations"]:
        yield {"kind": "allegation", "id": a["id"], "state": a["accuser"], "other_state": a["accused"], "what": a["subject"], "since": a["made_on"],
               "standing": a["standing"], "events": _ids(a["events"])}
    for f in answer["denied_flights"]:
        yield {"kind": "denied flight", "id": f["id"], "state": f["host"], "other_state": ", ".join(f["observers"]), "what": f["reason"],
               "since": f["denied_on"], "standing": f"{len(f['alternative_timeframes_offered'])} offered, {len(f['alternative_timeframes_refused'])} refused",
               "events": _ids(f["events"])}
    for s in answer["suspensions"]:
        yield {"kind": "suspension", "id": s["id"], "state": s["state"], "other_state": ", ".join(s["towards"]),
               "what": "; ".join(str(v) for v in (s.get("scope"), s.get("detail"), s.get("basis")) if v), "since": s["since"], "standing": "in force",
               "events": _ids(s["events"])}


def _changes(answer: dict[str, Any]) -> Iterable[Row]:
    for change in answer["status_changes"]:
        yield {"state": change["state"], "from": change["from"], "to": change["to"], "since": change["since"], "events": _ids(change["events"])}


def _reservations(answer: dict[str, Any]) -> Iterable[Row]:
    for kind in ("reservations", "declarations", "objections"):
        for item in answer[kind]:
            yield {"kind": kind[:-1], "id": item["id"], "state": item["state"], "since": item["since"], "text": item["text"],
                   "reservation": item.get("reservation") or "", "events": _ids(item["events"])}


def _events(answer: dict[str, Any]) -> Iterable[Row]:
    for e in answer["events"]:
        source = e.get("source") or {}
        yield {"sequence": e["sequence"], "id": e["id"], "type": e["type"], "date": e.get("date") or "", "state": e.get("state") or "",
               "recorded_at": e["recorded_at"], "source": source.get("title") or "", "url": source.get("url") or "",
               "retracted": e.get("retracted", False), "corrected_by": " ".join(e.get("corrected_by", []))}


def _across(answer: dict[str, Any]) -> Iterable[Row]:
    for t in answer["treaties"]:
        yield {"treaty": t["treaty"], "title": t["title"], "status": t["status"], "since": t["since"], "effective_on": t["effective_on"],
               "suspended": t["suspended"], "events": _ids(t["events"])}


TABLES: dict[str, Callable[[dict[str, Any]], Iterable[Row]]] = {
    "membership": _membership, "state": _state, "compliance": _compliance, "changes": _changes, "reservations": _reservations,
    "events": _events, "across": _across,
}
"""How each kind of answer becomes rows."""


_FORMULA = ("=", "+", "-", "@", "\t", "\r")
"""How a cell a spreadsheet would take for a formula begins (OWASP's list)."""


def _cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as written: text that would start a formula is prefixed with ``'``."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA) else value


def csv_text(kind: AnswerKind, answer: dict[str, Any]) -> str:
    """``answer`` as CSV text: a header row, then a row per state, item, change or event (with a state's name beside its code).

    Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is written with a ``'`` before it.
    """
    rows = [{name: _cell(value) for name, value in row.items()} for row in TABLES[kind](answer)]
    for row in rows:
        if "state" in row and isinstance(row["state"], str) and row["state"] and kind != "across":
            row["state_name"] = state_name(row["state"])
    names = list(dict.fromkeys(name for row in rows for name in row)) or ["empty"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def wants_csv(request: Request, format_: str | None) -> bool:
    """Whether the client asked for CSV: ``format=csv``, or an ``Accept`` header naming ``text/csv`` (and not JSON first)."""
    if format_ is not None:
        return format_ == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept.split("text/csv")[0]


def csv_response(kind: AnswerKind, answer: dict[str, Any], filename: str) -> Response:
    """The CSV of ``answer``, offered for download as ``filename``."""
    return Response(csv_text(kind, answer), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})
