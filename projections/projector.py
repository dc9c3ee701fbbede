"""Incremental maintenance of a treaty's interval rows, in memory, one recorded event at a time.

For each new event the :class:`TreatyProjector` refolds only the part of the timeline the event
can change (its *scope*): one state's standing, the compliance items, or, for treaty-wide
events, corrections and retractions, the whole treaty. It returns the rows that stop holding
and the rows that start holding as of the event's recorded time; the views store both, which
gives them the recorded-time dimension (``known_at``) exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from treaty_ledger.domain.effective import effective_events
from treaty_ledger.domain.events import COMPLIANCE, EVENT_TYPES, PARTICIPATION, TREATY_WIDE
from treaty_ledger.domain.fold import build_timeline
from treaty_ledger.domain.records import Record
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.projections.intervals import KINDS, Interval, intervals_of

__all__ = ["Change", "Registration", "Scope", "TreatyProjector"]



_REFERENCE = {
    name: ref.name
    for name, spec in EVENT_TYPES.items() if spec.category == "compliance"
    for ref in spec.fields if ref.kind == "ref"
}
"""The field by which a compliance event names the item it answers (``restriction_lifted``: ``restriction``), from the catalogue."""


class Scope(NamedTuple):
    """Which rows an event can change: all of them, one state's, one compliance item's, or none."""

    name: str
    key: str | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of rows in this scope."""
        if self.name == "state":
            return ("status", "suspension")
        if self.name == "item":
            return ("restriction", "allegation", "flight")
        return KINDS if self.name == "treaty" else ()

    def covers(self, row: Interval) -> bool:
        """Whether ``row`` lies in this scope."""
        if self.name == "treaty":
            return True
        if self.name == "state":
            return (row.kind == "status" and row.key == self.key) or (
                row.kind == "suspension" and row.key.startswith(f"{self.key}/")
            )
        if self.name == "item":
            return row.kind in ("restriction", "allegation", "flight") and row.key == self.key
        return False


class Change(NamedTuple):
    """The rows an event ends and the rows it starts."""

    record: Record
    ended: list[Interval]
    started: list[Interval]


@dataclass(frozen=True, slots=True)
class Registration:
    """A newly registered treaty and its first rows."""

    treaty: str
    uuid: str
    rules: TreatyRules
    doc: dict[str, Any]
    rows: list[Interval]
    recorded_at: datetime


class TreatyProjector:
    """A treaty's records and current rows, kept in memory and advanced event by event.

    Records are indexed by what they can affect (a state, a compliance item), so refolding a
    scope reads only that scope's events.
    """

    def __init__(self, treaty: str, rules: TreatyRules, records: Iterable[Record] = (), current: Iterable[Interval] = ()) -> None:
        self.treaty = treaty
        self.rules = rules
        self.records: list[Record] = []
        self.by_state: dict[str, list[Record]] = {}
        self.by_item: dict[str, list[Record]] = {}
        self.treaty_wide: list[Record] = []
        self.maintenance: list[Record] = []
        self.has_succession = False
        for record in sorted(records, key=lambda r: r.sequence):
            self._index(record)
        self.current: dict[tuple[str, str], dict[tuple[object, ...], Interval]] = {}
        for row in current:
            self.current.setdefault(row.scope, {})[row.place] = row

    @classmethod
    def registered(cls, event: Treaty.Registered) -> tuple[TreatyProjector, Registration]:
        """The projector of a newly registered treaty, and its registration for the views."""
        projector = cls(event.slug, TreatyRules.from_input(event.rules))
        doc = {"id": event.slug, "title": event.title, "depositaries": event.depositaries, "rules": event.rules,
               "source": event.source, "registered_at": event.timestamp}
        return projector, Registration(event.slug, str(event.originator_id), projector.rules, doc, projector.initial_rows(), event.timestamp)

    def _index(self, record: Record) -> None:
        self.records.append(record)
        if record.type in TREATY_WIDE:
            self.treaty_wide.append(record)
        elif record.type in ("correction", "retraction"):
            self.maintenance.append(record)
        elif record.type in PARTICIPATION:
            self.by_state.setdefault(str(record.state), []).append(record)
            if record.type == "succeeded":
                self.has_succession = True
        elif record.type in COMPLIANCE:
            self.by_item.setdefault(self._item_of(record), []).append(record)

    @staticmethod
    def _item_of(record: Record) -> str:
        reference = _REFERENCE.get(record.type)
        return str(record.fields[reference]) if reference else record.id

    @property
    def last_sequence(self) -> int:
        """The sequence of the last event applied (0 before any)."""
        return self.records[-1].sequence if self.records else 0

    def initial_rows(self) -> list[Interval]:
        """The rows of a treaty with no events yet (its phase: not in force)."""
        rows = intervals_of(build_timeline(self.rules, []))
        self.current = {}
        for row in rows:
            self.current.setdefault(row.scope, {})[row.place] = row
        return rows

    def scope_of(self, record: Record) -> Scope:
        """The rows ``record`` can change."""
        if record.type in COMPLIANCE:
            return Scope("item", self._item_of(record))
        if record.type not in PARTICIPATION:
            return Scope("treaty") if record.type in ("correction", "retraction") else Scope("none")
        if record.type in TREATY_WIDE or self.has_succession or self.rules.minimum_parties:
            return Scope("treaty")
        return Scope("state", record.state)

    def _subset(self, scope: Scope) -> list[Record]:
        if scope.name == "state":
            return [*self.treaty_wide, *self.maintenance, *self.by_state.get(str(scope.key), [])]
        if scope.name == "item":
            events = self.by_item.get(str(scope.key), [])
            referenced = [ref for r in events for ref in r.fields.get("restrictions", [])]
            return [*self.maintenance, *(e for ref in referenced for e in self.by_item.get(str(ref), [])[:1]), *events]
        return self.records

    def apply(self, record: Record) -> Change:
        """Apply the next recorded event; return the rows it ends and starts."""
        if record.sequence != self.last_sequence + 1:
            raise ValueError(f"{self.treaty}: expected sequence {self.last_sequence + 1}, got {record.sequence}")
        self._index(record)
        scope = self.scope_of(record)
        if scope.name == "none":
            return Change(record, [], [])
        subset = self._subset(scope)
        timeline = build_timeline(self.rules, effective_events(subset))
        fresh = [row for row in intervals_of(timeline, scope.kinds) if scope.covers(row)]
        if scope.name == "treaty":
            old = {place: row for rows in self.current.values() for place, row in rows.items()}
        else:
            old = dict(self.current.get(("state" if scope.name == "state" else "item", str(scope.key)), {}))
        started = []
        for row in fresh:
            before = old.pop(row.place, None)
            if before is None or before.doc != row.doc:
                started.append(row)
                if before is not None:
                    old[row.place] = before  # its document changed: the old row ends
        ended = list(old.values())
        for row in ended:
            del self.current[row.scope][row.place]
        for row in started:
            self.current.setdefault(row.scope, {})[row.place] = row
        return Change(record, ended, started)
