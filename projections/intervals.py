"""Validity intervals: the timeline as rows, the shape both the replay and the views answer from.

Each :class:`Interval` says: this item (a state's status, the treaty's phase, a suspension, a
restriction, an allegation, a denied flight) holds over ``[since, until)`` of effective dates,
and here is its JSON document. The materialized views store these rows with the recorded-time
range in which the ledger held them; the replay computes them afresh from the events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.records import to_json_value
from domain.timeline import Timeline

__all__ = ["KINDS", "Interval", "intervals_of"]

KINDS = ("phase", "status", "suspension", "restriction", "allegation", "flight")


@dataclass(frozen=True, slots=True)
class Interval:
    """One row: ``kind`` and ``key`` name the item; ``doc`` is its JSON document."""

    kind: str
    key: str
    since: date | None
    until: date | None
    doc: dict[str, Any]

    def holds_on(self, day: date) -> bool:
        """Whether the row covers ``day``."""
        return (self.since is None or self.since <= day) and (self.until is None or day < self.until)

    def identity(self) -> tuple[Any, ...]:
        """What makes two rows the same row (used to diff the views)."""
        return (self.kind, self.key, self.since, self.until, _freeze(self.doc))


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def intervals_of(timeline: Timeline, kinds: Iterable[str] = KINDS, keys: set[str] | None = None) -> list[Interval]:
    """The timeline's rows, optionally only of some ``kinds`` and ``keys``."""
    wanted = set(kinds)
    rows: list[Interval] = []

    def add(kind: str, key: str, since: date | None, until: date | None, doc: dict[str, Any]) -> None:
        if kind in wanted and (keys is None or key in keys):
            rows.append(Interval(kind, key, since, until, to_json_value(doc)))

    for phase in timeline.phases:
        add("phase", "treaty", phase.since, phase.until, {"phase": phase.phase, "since": phase.since, "until": phase.until, "events": list(phase.events)})
    for state, segments in timeline.segments.items():
        for s in segments:
            doc = {"state": state, "status": s.status, "since": s.since, "until": s.until, "in_force": s.in_force, "events": list(s.events)}
            doc.update(s.detail)
            add("status", state, s.since, s.until, doc)
    for suspension in timeline.suspensions:
        add("suspension", f"{suspension.state}/{suspension.id}", suspension.since, suspension.until, {
            "id": suspension.id, "state": suspension.state, "towards": suspension.towards,
            "since": suspension.since, "until": suspension.until, "events": list(suspension.events),
        })
    for r in timeline.restrictions.values():
        add("restriction", r.id, r.since, r.until, {
            "id": r.id, "state": r.state, "area": r.area, "kind": r.kind, "detail": r.detail, "towards": r.towards,
            "since": r.since, "until": r.until, "claimed_by": r.claimed_by, "events": list(r.events),
        })
    for a in timeline.allegations.values():
        add("allegation", a.id, a.made_on, None, {
            "id": a.id, "accuser": a.accuser, "accused": a.accused, "subject": a.subject, "restrictions": a.restrictions,
            "made_on": a.made_on, "responses": a.responses, "events": list(a.events),
        })
    for f in timeline.flights.values():
        add("flight", f.id, f.denied_on, None, {
            "id": f.id, "host": f.host, "observers": f.observers, "reason": f.reason, "denied_on": f.denied_on,
            "offers": f.offers, "refusals": f.refusals, "claimed_by": f.claimed_by, "events": list(f.events),
        })
    return rows
