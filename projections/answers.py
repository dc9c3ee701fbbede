"""Answers for a date, built from the interval rows that hold on it.

The replay and the materialized views both hand their rows for a day to these functions, so
the two give the same answer by construction of the rows, not by two copies of the logic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from treaty_ledger.projections.intervals import Interval

__all__ = ["changes_answer", "compliance_answer", "membership_answer", "state_answer"]


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def _on(day: date, text: str | None) -> bool:
    return text is not None and date.fromisoformat(text) <= day


def membership_answer(treaty: str, as_of: date, known_at: datetime | None, rows: Iterable[Interval]) -> dict[str, Any]:
    """Membership on ``as_of``: phase, parties, signatories, contracting, withdrawing, withdrawn, suspended."""
    phase: dict[str, Any] = {"phase": "not_in_force", "events": []}
    statuses: list[dict[str, Any]] = []
    suspended: list[dict[str, Any]] = []
    for row in rows:
        if row.kind == "phase":
            phase = row.doc
        elif row.kind == "status":
            statuses.append(row.doc)
        elif row.kind == "suspension":
            suspended.append(row.doc)
    events: set[str] = set(phase["events"])
    for doc in statuses:
        if doc["status"] != "none" or doc.get("succeeded_by"):
            events.update(doc["events"])
    for doc in suspended:
        events.update(doc["events"])
    by_status = {name: sorted((d for d in statuses if d["status"] == name), key=lambda d: d["state"]) for name in
                 ("signatory", "contracting", "party", "withdrawing", "withdrawn", "terminated")}
    return {
        "treaty": treaty,
        "as_of": as_of.isoformat(),
        "known_at": _iso(known_at),
        "in_force": phase["phase"] == "in_force",
        "phase": phase["phase"],
        "parties": sorted(d["state"] for d in statuses if d["in_force"]),
        "signatories": [d["state"] for d in by_status["signatory"]],
        "contracting": [
            {"state": d["state"], "deposited_on": d["since"], "party_from": d.get("party_from")} for d in by_status["contracting"]
        ],
        "withdrawing": [
            {"state": d["state"], "notified_on": d["notified_on"], "effective_on": d["effective_on"]} for d in by_status["withdrawing"]
        ],
        "withdrawn": [
            {"state": d["state"], "notified_on": d["notified_on"], "effective_on": d["effective_on"]} for d in by_status["withdrawn"]
        ],
        "suspended": sorted(
            ({"state": d["state"], "since": d["since"], "towards": d["towards"], "events": d["events"]} for d in suspended),
            key=lambda d: (d["state"], d["since"]),
        ),
        "events": sorted(events),
    }


def state_answer(treaty: str, state: str, as_of: date, known_at: datetime | None, rows: Iterable[Interval]) -> dict[str, Any]:
    """One state's status on ``as_of``, since when, until when where known, and its events."""
    doc: dict[str, Any] | None = None
    suspension: dict[str, Any] | None = None
    for row in rows:
        if row.kind == "status" and row.key == state:
            doc = row.doc
        elif row.kind == "suspension" and row.doc["state"] == state:
            suspension = row.doc
    answer: dict[str, Any] = {
        "treaty": treaty,
        "state": state,
        "as_of": as_of.isoformat(),
        "known_at": _iso(known_at),
        "status": "none",
        "since": None,
        "until": None,
        "party": False,
        "effective_on": None,
        "notified_on": None,
        "suspended": suspension is not None,
        "events": [],
    }
    if doc is not None:
        answer.update(
            status=doc["status"], since=doc["since"], until=doc["until"], party=doc["in_force"],
            effective_on=doc.get("effective_on") or doc.get("party_from"), notified_on=doc.get("notified_on"),
            events=list(doc["events"]),
        )
        for name in ("predecessor", "succeeded_by"):
            if doc.get(name):
                answer[name] = doc[name]
    if suspension is not None:
        answer["events"] = sorted(set(answer["events"]) | set(suspension["events"]))
    return answer


def compliance_answer(treaty: str, as_of: date, known_at: datetime | None, rows: Iterable[Interval]) -> dict[str, Any]:
    """Restrictions in force, allegations and their standing, denied flights, suspensions on ``as_of``."""
    restrictions, allegations, flights, suspensions = [], [], [], []
    for row in rows:
        doc = row.doc
        if row.kind == "restriction":
            restrictions.append(doc)
        elif row.kind == "suspension":
            suspensions.append(doc)
        elif row.kind == "allegation":
            responses = [r for r in doc["responses"] if _on(as_of, r["date"])]
            standing = "open"
            for response in responses:
                standing = "resolved" if response["type"] == "allegation_resolved" else "disputed"
            allegations.append({
                **{k: doc[k] for k in ("id", "accuser", "accused", "subject", "restrictions", "made_on")},
                "standing": standing,
                "responses": responses,
                "events": [doc["id"], *(r["id"] for r in responses)],
            })
        elif row.kind == "flight":
            offers = [o for o in doc["offers"] if _on(as_of, o["date"])]
            refusals = [r for r in doc["refusals"] if _on(as_of, r["date"])]
            flights.append({
                **{k: doc[k] for k in ("id", "host", "observers", "reason", "denied_on", "claimed_by")},
                "alternative_timeframes_offered": offers,
                "alternative_timeframes_refused": refusals,
                "events": [doc["id"], *(o["id"] for o in offers), *(r["id"] for r in refusals)],
            })
    restrictions.sort(key=lambda d: (d["since"], d["id"]))
    allegations.sort(key=lambda d: (d["made_on"], d["id"]))
    flights.sort(key=lambda d: (d["denied_on"], d["id"]))
    suspensions.sort(key=lambda d: (d["since"], d["id"]))
    events: set[str] = set()
    for group in (restrictions, allegations, flights, suspensions):
        for item in group:
            events.update(item["events"])
    return {
        "treaty": treaty,
        "as_of": as_of.isoformat(),
        "known_at": _iso(known_at),
        "restrictions": restrictions,
        "allegations": allegations,
        "denied_flights": flights,
        "suspensions": suspensions,
        "events": sorted(events),
    }


def changes_answer(treaty: str, start: date, end: date, known_at: datetime | None, before: list[Interval], after: list[Interval], dated_events: list[dict[str, Any]]) -> dict[str, Any]:
    """What changed between ``start`` and ``end``: joined, left, status changes, items started and ended, and the events."""
    first = membership_answer(treaty, start, known_at, before)
    last = membership_answer(treaty, end, known_at, after)
    status_before = {r.key: r.doc for r in before if r.kind == "status"}
    status_after = {r.key: r.doc for r in after if r.kind == "status"}
    status_changes = []
    for state in sorted(set(status_before) | set(status_after)):
        old = status_before.get(state, {}).get("status", "none")
        new_doc = status_after.get(state)
        new = new_doc["status"] if new_doc else "none"
        if old != new:
            status_changes.append({"state": state, "from": old, "to": new, "since": new_doc["since"] if new_doc else None,
                                   "events": new_doc["events"] if new_doc else []})
    items_before = {(r.kind, r.key): r.doc for r in before if r.kind in ("restriction", "suspension")}
    items_after = {(r.kind, r.key): r.doc for r in after if r.kind in ("restriction", "suspension")}
    started = [{"kind": k, **doc} for (k, key), doc in sorted(items_after.items()) if (k, key) not in items_before]
    ended = [{"kind": k, **doc} for (k, key), doc in sorted(items_before.items()) if (k, key) not in items_after]
    new_allegations = [r.doc["id"] for r in after if r.kind == "allegation" and r.key not in {b.key for b in before if b.kind == "allegation"}]
    new_flights = [r.doc["id"] for r in after if r.kind == "flight" and r.key not in {b.key for b in before if b.kind == "flight"}]
    return {
        "treaty": treaty,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "known_at": _iso(known_at),
        "in_force": {"from": first["in_force"], "to": last["in_force"]},
        "joined": sorted(set(last["parties"]) - set(first["parties"])),
        "left": sorted(set(first["parties"]) - set(last["parties"])),
        "status_changes": status_changes,
        "started": started,
        "ended": ended,
        "allegations_made": sorted(new_allegations),
        "flights_denied": sorted(new_flights),
        "events": dated_events,
    }
