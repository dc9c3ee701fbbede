"""Validity intervals: the timeline as rows, the shape both the replay and the views answer from.

Each :class:`Interval` says: this item (a state's status, the treaty's phase, a suspension, a
restriction, an allegation, a denied flight) holds over ``[since, until)`` of effective dates,
and here is its JSON document. The materialized views store these rows with the recorded-time
range in which the ledger held them; the replay computes them afresh from the events.
"""

from __future__ import annotations

from collections.abc import Iterable
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.records import to_json_value
from domain.timeline import Timeline

__all__ = ["KINDS", "Interval", "intervals_of"]

KINDS = ("phase", "status", "suspension", "restriction", "allegation", "flight")


@dataclass(frozen=True, slots=True)
class Interval:
    """One row: ``kind`` and ``key`` name the item; ``doc`` is its JSON document.

    ``digest`` identifies the row (kind, key, dates and document): the views diff rows by it.
    """

    kind: str
    key: str
    since: date | None
    until: date | None
    doc: dict[str, Any]
    stored_digest: str = field(default="", compare=False, repr=False)
    stored_text: str = field(default="", compare=False, repr=False)

    @property
    def place(self) -> tuple[str, str, date | None, date | None]:
        """Kind, key and dates: rows at the same place are the same row when their documents are equal."""
        return (self.kind, self.key, self.since, self.until)

    @property
    def text(self) -> str:
        """The document as canonical JSON (computed once)."""
        if not self.stored_text:
            object.__setattr__(self, "stored_text", json.dumps(self.doc, sort_keys=True, separators=(",", ":")))
        return self.stored_text

    @property
    def digest(self) -> str:
        """A digest of the row's identity (computed once): the views find rows to close by it."""
        if not self.stored_digest:
            identity = f"{self.kind}|{self.key}|{self.since}|{self.until}|{self.text}"
            object.__setattr__(self, "stored_digest", hashlib.blake2b(identity.encode(), digest_size=16).hexdigest())
        return self.stored_digest

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
    return None if day is None else day.isoformat()


def intervals_of(timeline: Timeline, kinds: Iterable[str] = KINDS, keys: set[str] | None = None) -> list[Interval]:
    """The timeline's rows, optionally only of some ``kinds`` and ``keys``."""
    wanted = set(kinds)
    rows: list[Interval] = []

    def add(kind: str, key: str, since: date | None, until: date | None, doc: dict[str, Any]) -> None:
        if kind in wanted and (keys is None or key in keys):
            rows.append(Interval(kind, key, since, until, doc))

    for phase in timeline.phases:
        add("phase", "treaty", phase.since, phase.until, {"phase": phase.phase, "since": _d(phase.since), "until": _d(phase.until), "events": list(phase.events)})
    for state, segments in timeline.segments.items():
        for s in segments:
            doc = {"state": state, "status": s.status, "since": _d(s.since), "until": _d(s.until), "in_force": s.in_force, "events": list(s.events)}
            if s.detail:
                doc.update(to_json_value(s.detail))
            add("status", state, s.since, s.until, doc)
    for suspension in timeline.suspensions:
        add("suspension", f"{suspension.state}/{suspension.id}", suspension.since, suspension.until, {
            "id": suspension.id, "state": suspension.state, "towards": list(suspension.towards),
            "since": _d(suspension.since), "until": _d(suspension.until), "events": list(suspension.events),
        })
    for r in timeline.restrictions.values():
        add("restriction", r.id, r.since, r.until, {
            "id": r.id, "state": r.state, "area": r.area, "kind": r.kind, "detail": r.detail, "towards": list(r.towards),
            "since": _d(r.since), "until": _d(r.until), "claimed_by": r.claimed_by, "events": list(r.events),
        })
    for a in timeline.allegations.values():
        add("allegation", a.id, a.made_on, None, {
            "id": a.id, "accuser": a.accuser, "accused": a.accused, "subject": a.subject, "restrictions": list(a.restrictions),
            "made_on": _d(a.made_on), "responses": to_json_value(a.responses), "events": list(a.events),
        })
    for f in timeline.flights.values():
        add("flight", f.id, f.denied_on, None, {
            "id": f.id, "host": f.host, "observers": list(f.observers), "reason": f.reason, "denied_on": _d(f.denied_on),
            "offers": to_json_value(f.offers), "refusals": to_json_value(f.refusals), "claimed_by": f.claimed_by, "events": list(f.events),
        })
    return rows
