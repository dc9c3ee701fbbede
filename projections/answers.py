"""Answers for a date, built from the interval rows that hold on it.

The replay and the materialized views both hand their rows for a day to these functions, so
the two give the same answer by construction of the rows, not by two copies of the logic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from treaty_ledger.domain.participation import BOUND
from treaty_ledger.domain.rules import EntryIntoForce, TreatyRules
from treaty_ledger.projections.intervals import Interval

__all__ = ["changes_answer", "compliance_answer", "membership_answer", "reservations_answer", "state_answer"]


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def _on(day: date, text: str | None) -> bool:
    return text is not None and date.fromisoformat(text) <= day


def _suspension(doc: dict[str, Any]) -> dict[str, Any]:
    return {"state": doc["state"], "since": doc["since"], "towards": doc["towards"], "scope": doc.get("scope"),
            "detail": doc.get("detail"), "basis": doc.get("basis"), "events": doc["events"]}


def _conditions(rule: EntryIntoForce, statuses: list[dict[str, Any]]) -> dict[str, Any]:
    """How far the entry-into-force conditions are met by the instruments in force on the day (``statuses``)."""
    deposited = {d["state"] for d in statuses if d["status"] in BOUND}
    conditions: dict[str, Any] = {"instruments": None, "required_states": None}
    met = True
    if rule.instruments is not None:
        conditions["instruments"] = {"required": rule.instruments, "deposited": len(deposited)}
        met = len(deposited) >= rule.instruments
    if rule.required_states:
        missing = sorted(set(rule.required_states) - deposited)
        conditions["required_states"] = {"required": len(rule.required_states), "met": sorted(set(rule.required_states) & deposited),
                                         "missing": missing}
        met = met and not missing
    conditions["met"] = met
    return conditions


def membership_answer(treaty: str, as_of: date, known_at: datetime | None, rows: Iterable[Interval],
                      rules: TreatyRules | None = None) -> dict[str, Any]:
    """Membership on ``as_of``: phase, expiry and extensions, parties, signatories, contracting, withdrawing, withdrawn,
    suspended, provisionally applying, and (with an entry-into-force rule) its conditions met and missing."""
    phase: dict[str, Any] = {"phase": "not_in_force", "events": []}
    statuses: list[dict[str, Any]] = []
    suspended: list[dict[str, Any]] = []
    provisional: list[dict[str, Any]] = []
    for row in rows:
        if row.kind == "phase":
            phase = row.doc
        elif row.kind == "status":
            statuses.append(row.doc)
        elif row.kind == "suspension":
            suspended.append(row.doc)
        elif row.kind == "provisional":
            provisional.append(row.doc)
    events: set[str] = set(phase["events"])
    for doc in statuses:
        if doc["status"] != "none" or doc.get("succeeded_by"):
            events.update(doc["events"])
    for doc in (*suspended, *provisional):
        events.update(doc["events"])
    by_status = {name: sorted((d for d in statuses if d["status"] == name), key=lambda d: d["state"]) for name in
                 ("signatory", "contracting", "party", "withdrawing", "withdrawn", "terminated")}
    answer: dict[str, Any] = {
        "treaty": treaty,
        "as_of": as_of.isoformat(),
        "known_at": _iso(known_at),
        "in_force": phase["phase"] == "in_force",
        "phase": phase["phase"],
        "expires_on": phase.get("expires_on"),
        "extensions": list(phase.get("extensions", [])),
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
        "suspended": sorted((_suspension(d) for d in suspended), key=lambda d: (d["state"], d["since"])),
        "provisionally_applying": sorted(d["state"] for d in provisional),
        "events": sorted(events),
    }
    answer["conditions"] = _conditions(rules.entry_into_force, statuses) if rules is not None and rules.entry_into_force else None
    return answer


def _own(doc: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: doc.get(name) for name in ("id", *names, "since", "events")}


_RESERVATION = ("state", "text", "articles")
_DECLARATION = ("state", "kind", "text", "articles")
_OBJECTION = ("state", "reservation", "reserving_state", "text", "precludes_entry_into_force")
"""The fields of a reservation, a declaration and an objection in the answers (beside id, since and events)."""


def state_answer(treaty: str, state: str, as_of: date, known_at: datetime | None, rows: Iterable[Interval]) -> dict[str, Any]:
    """One state's status on ``as_of``, since when, until when where known, and its events."""
    doc: dict[str, Any] | None = None
    suspension: dict[str, Any] | None = None
    provisional: dict[str, Any] | None = None
    mine: dict[str, list[dict[str, Any]]] = {"reservation": [], "declaration": [], "objections_made": [], "objections_received": [],
                                             "territory": []}
    for row in rows:
        if row.kind == "status" and row.key == state:
            doc = row.doc
        elif row.kind == "suspension" and row.doc["state"] == state:
            suspension = row.doc
        elif row.kind == "provisional" and row.doc["state"] == state:
            provisional = row.doc
        elif row.kind == "objection" and state in (row.doc["state"], row.doc["reserving_state"]):
            mine["objections_made" if row.doc["state"] == state else "objections_received"].append(row.doc)
        elif row.kind in ("reservation", "declaration", "territory") and row.doc["state"] == state:
            mine[row.kind].append(row.doc)
    for items in mine.values():
        items.sort(key=lambda d: (d["since"], d["id"]))
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
        "suspension": None if suspension is None else {k: v for k, v in _suspension(suspension).items() if k != "state"},
        "provisionally_applying": provisional is not None,
        "provisional": None if provisional is None else _own(provisional, "provisions"),
        "reservations": [_own(d, *_RESERVATION) for d in mine["reservation"]],
        "declarations": [_own(d, *_DECLARATION) for d in mine["declaration"]],
        "objections_made": [_own(d, *_OBJECTION) for d in mine["objections_made"]],
        "objections_received": [_own(d, *_OBJECTION) for d in mine["objections_received"]],
        "territories": [_own(d, "territory", "applies") for d in mine["territory"]],
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
    extra = [suspension, provisional, *(d for items in mine.values() for d in items)]
    if any(extra):
        answer["events"] = sorted(set(answer["events"]).union(*(d["events"] for d in extra if d is not None)))
    return answer


def reservations_answer(treaty: str, as_of: date, known_at: datetime | None, rows: Iterable[Interval]) -> dict[str, Any]:
    """The reservations, declarations and objections in force on ``as_of``, each with its events."""
    groups: dict[str, list[dict[str, Any]]] = {"reservation": [], "declaration": [], "objection": []}
    for row in rows:
        if row.kind in groups:
            groups[row.kind].append(row.doc)
    for items in groups.values():
        items.sort(key=lambda d: (d["since"], d["state"], d["id"]))
    events = sorted({e for items in groups.values() for d in items for e in d["events"]})
    return {
        "treaty": treaty,
        "as_of": as_of.isoformat(),
        "known_at": _iso(known_at),
        "reservations": [_own(d, *_RESERVATION) for d in groups["reservation"]],
        "declarations": [_own(d, *_DECLARATION) for d in groups["declaration"]],
        "objections": [_own(d, *_OBJECTION) for d in groups["objection"]],
        "events": events,
    }


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


_STARTED_AND_ENDED = ("restriction", "suspension", "provisional", "reservation", "declaration", "objection", "territory")
"""The kinds of item the changes between two dates list as started or ended."""


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
    items_before = {(r.kind, r.key): r.doc for r in before if r.kind in _STARTED_AND_ENDED}
    items_after = {(r.kind, r.key): r.doc for r in after if r.kind in _STARTED_AND_ENDED}
    # ``item`` names what started or ended; ``kind`` stays as wave 1 gave it (a restriction's own kind, else the item's).
    def only_in(these: dict[tuple[str, str], dict[str, Any]], those: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**doc, "kind": doc.get("kind") or k, "item": k} for (k, key), doc in sorted(these.items()) if (k, key) not in those]

    started, ended = only_in(items_after, items_before), only_in(items_before, items_after)
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
