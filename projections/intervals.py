"""Validity intervals: the timeline as rows, the shape both the replay and the views answer from.

Each :class:`Interval` says: this item (a state's status, the treaty's phase, a suspension, a
restriction, an allegation, a denied flight) holds over ``[since, until)`` of effective dates,
and here is its JSON document. The materialized views store these rows with the recorded-time
range in which the ledger held them; the replay computes them afresh from the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from treaty_ledger.domain.dates import iso_day
from treaty_ledger.domain.records import json_text, to_json_value
from treaty_ledger.domain.timeline import (
    TREATY_SCOPE,
    Allegation,
    Declaration,
    Flight,
    Objection,
    Provisional,
    Reservation,
    Restriction,
    Scope,
    Segment,
    Suspension,
    Territory,
    Timeline,
)

__all__ = ["KINDS", "Interval", "intervals_in", "intervals_of", "scopes_of"]

KINDS = ("phase", "status", "suspension", "provisional", "reservation", "declaration", "objection", "territory", "restriction",
         "allegation", "flight")
"""Every kind of row: a kind other than ``phase``, ``status`` and ``suspension`` is an item with a scope of its own."""


@dataclass(slots=True, eq=True)
class Interval:
    """One row: ``kind`` and ``key`` name the item; ``doc`` is its JSON document.

    ``row_id`` is the row's id in the views once stored (0 before): they close rows by it.
    Treat a row as immutable: only :meth:`stored_as` and :attr:`text` fill in those two
    caches. (Not a frozen dataclass: a fold makes rows by the thousand, and a frozen one
    costs several times as much to create.)
    """

    kind: str
    key: str
    since: date | None
    until: date | None
    doc: dict[str, Any]
    row_id: int = field(default=0, compare=False, repr=False)
    stored_text: str = field(default="", compare=False, repr=False)

    @property
    def place(self) -> tuple[str, str, date | None, date | None]:
        """Kind, key and dates: rows at the same place are the same row when their documents are equal."""
        return (self.kind, self.key, self.since, self.until)

    @property
    def text(self) -> str:
        """The document as canonical JSON (computed once)."""
        if not self.stored_text:
            self.stored_text = json_text(self.doc, sort_keys=True)
        return self.stored_text

    def stored_as(self, row_id: int) -> None:
        """Note the id the views stored the row under."""
        self.row_id = row_id

    def holds_on(self, day: date) -> bool:
        """Whether the row covers ``day``."""
        return (self.since is None or self.since <= day) and (self.until is None or day < self.until)

    @property
    def scope(self) -> tuple[str, str]:
        """The scope the row belongs to: a state's, a compliance item's, or the treaty's."""
        if self.kind == "status":
            return ("state", self.key)
        if self.kind == "suspension":
            return ("state", self.key.split("/", 1)[0])
        if self.kind == "phase":
            return ("treaty", "")
        return ("item", self.key)


def _d(day: date | None) -> str | None:
    return None if day is None else iso_day(day)


def _phase_rows(timeline: Timeline) -> list[Interval]:
    return [Interval("phase", "treaty", phase.since, phase.until, {
        "phase": phase.phase, "since": _d(phase.since), "until": _d(phase.until), "events": list(phase.events),
        **to_json_value(phase.detail),
    }) for phase in timeline.phases]


def _status_rows(state: str, segments: Iterable[Segment]) -> list[Interval]:
    rows = []
    for s in segments:
        doc = {"state": state, "status": s.status, "since": iso_day(s.since), "until": _d(s.until), "in_force": s.in_force,
               "events": list(s.events)}
        if s.detail:
            doc.update(to_json_value(s.detail))
        rows.append(Interval("status", state, s.since, s.until, doc))
    return rows


def _suspension_row(suspension: Suspension) -> Interval:
    return Interval("suspension", f"{suspension.state}/{suspension.id}", suspension.since, suspension.until, {
        "id": suspension.id, "state": suspension.state, "towards": list(suspension.towards),
        "since": _d(suspension.since), "until": _d(suspension.until), "events": list(suspension.events),
        "scope": suspension.scope, "detail": suspension.detail, "basis": suspension.basis,
    })


def _provisional_row(p: Provisional) -> Interval:
    return Interval("provisional", p.id, p.since, p.until, {
        "id": p.id, "state": p.state, "provisions": p.provisions, "since": _d(p.since), "until": _d(p.until), "events": list(p.events),
    })


def _reservation_row(r: Reservation) -> Interval:
    doc = {"id": r.id, "state": r.state, "text": r.text, "articles": list(r.articles), "since": _d(r.since), "until": _d(r.until),
           "events": list(r.events)}
    if isinstance(r, Declaration):
        return Interval("declaration", r.id, r.since, r.until, {**doc, "kind": r.kind})
    return Interval("reservation", r.id, r.since, r.until, doc)


def _objection_row(o: Objection) -> Interval:
    return Interval("objection", o.id, o.since, o.until, {
        "id": o.id, "state": o.state, "reservation": o.reservation, "reserving_state": o.reserving_state, "text": o.text,
        "precludes_entry_into_force": o.precludes_entry_into_force, "since": _d(o.since), "until": _d(o.until), "events": list(o.events),
    })


def _territory_row(t: Territory) -> Interval:
    return Interval("territory", t.id, t.since, t.until, {
        "id": t.id, "state": t.state, "territory": t.territory, "applies": t.applies, "since": _d(t.since), "until": _d(t.until),
        "events": list(t.events),
    })


def _restriction_row(r: Restriction) -> Interval:
    return Interval("restriction", r.id, r.since, r.until, {
        "id": r.id, "state": r.state, "area": r.area, "kind": r.kind, "detail": r.detail, "towards": list(r.towards),
        "since": _d(r.since), "until": _d(r.until), "claimed_by": r.claimed_by, "events": list(r.events),
    })


def _allegation_row(a: Allegation) -> Interval:
    return Interval("allegation", a.id, a.made_on, None, {
        "id": a.id, "accuser": a.accuser, "accused": a.accused, "subject": a.subject, "restrictions": list(a.restrictions),
        "made_on": _d(a.made_on), "responses": to_json_value(a.responses), "events": list(a.events),
    })


def _flight_row(f: Flight) -> Interval:
    return Interval("flight", f.id, f.denied_on, None, {
        "id": f.id, "host": f.host, "observers": list(f.observers), "reason": f.reason, "denied_on": _d(f.denied_on),
        "offers": to_json_value(f.offers), "refusals": to_json_value(f.refusals), "claimed_by": f.claimed_by,
        "events": list(f.events),
    })


_ITEM_ROWS: tuple[tuple[str, Callable[[Any], Interval]], ...] = (
    ("provisional", _provisional_row), ("reservations", _reservation_row), ("declarations", _reservation_row),
    ("objections", _objection_row), ("territories", _territory_row), ("restrictions", _restriction_row),
    ("allegations", _allegation_row), ("flights", _flight_row),
)
"""Each collection of items of a :class:`Timeline`, and how one of its items becomes a row."""


def intervals_of(timeline: Timeline) -> list[Interval]:
    """Every row of the timeline."""
    rows = _phase_rows(timeline)
    for state, segments in timeline.segments.items():
        rows.extend(_status_rows(state, segments))
    rows.extend(_suspension_row(s) for s in timeline.suspensions.values())
    for collection, row in _ITEM_ROWS:
        rows.extend(row(item) for item in getattr(timeline, collection).values())
    return rows


def intervals_in(timeline: Timeline, scopes: Iterable[Scope]) -> list[Interval]:
    """The timeline's rows in ``scopes`` only, each looked up, not searched for (see :attr:`Interval.scope`)."""
    rows: list[Interval] = []
    states: set[str] = set()
    for name, key in scopes:
        if name == "treaty":
            rows.extend(_phase_rows(timeline))
        elif name == "state":
            states.add(key)
            rows.extend(_status_rows(key, timeline.segments.get(key, ())))
        elif name == "item":
            for collection, row in _ITEM_ROWS:
                item = getattr(timeline, collection).get(key)
                if item is not None:
                    rows.append(row(item))
    if states:
        rows.extend(_suspension_row(s) for s in timeline.suspensions.values() if s.state in states)
    return rows


def scopes_of(timeline: Timeline) -> set[Scope]:
    """Every scope the timeline has rows in."""
    scopes: set[Scope] = {TREATY_SCOPE}
    scopes.update(("state", state) for state in timeline.segments)
    scopes.update(("state", s.state) for s in timeline.suspensions.values())
    for collection, _row in _ITEM_ROWS:
        scopes.update(("item", key) for key in getattr(timeline, collection))
    return scopes
