"""Incremental maintenance of a treaty's interval rows, in memory, one recorded event at a time.

A :class:`TreatyProjector` keeps the treaty's timeline folded (a
:class:`~treaty_ledger.domain.running_fold.RunningFold`, the same fold that checks events
before they are recorded) and, for each new event, rebuilds the rows of only the scopes the
fold says it changed: one state's standing, one compliance item, the treaty's phases, or,
after a refold from a checkpoint (a back-filled event, a correction, a retraction), all of
them. It returns the rows that stop holding and the rows that start holding as of the event's
recorded time; the views store both, which gives them the recorded-time dimension
(``known_at``) exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from treaty_ledger.domain.records import Record
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.running_fold import RunningFold
from treaty_ledger.domain.shared_list import RecordLog
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.projections.intervals import Interval, intervals_in, intervals_of, scopes_of

__all__ = ["Change", "Registration", "TreatyProjector"]


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
    """A treaty's folded timeline and current rows, kept in memory and advanced event by event."""

    def __init__(self, treaty: str, rules: TreatyRules, records: Iterable[Record] = (), current: Iterable[Interval] = ()) -> None:
        self.treaty = treaty
        self.rules = rules
        self.log = RecordLog(sorted(records, key=lambda r: r.sequence))
        self.fold = RunningFold(rules, self.log.find, in_place=True)
        self.fold.add(self.log)
        self.fold.timeline_and_changes()  # the rows of what is folded are the current rows given
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

    @property
    def last_sequence(self) -> int:
        """The sequence of the last event applied (0 before any)."""
        return self.fold.sequence

    def initial_rows(self) -> list[Interval]:
        """The rows of a treaty with no events yet (its phase: not in force)."""
        rows = intervals_of(self.fold.timeline())
        self.current = {}
        for row in rows:
            self.current.setdefault(row.scope, {})[row.place] = row
        return rows

    def apply(self, record: Record) -> Change:
        """Apply the next recorded event; return the rows it ends and starts."""
        if record.sequence != self.last_sequence + 1:
            raise ValueError(f"{self.treaty}: expected sequence {self.last_sequence + 1}, got {record.sequence}")
        self.log.append(record)
        self.fold.add([record])
        timeline, changed = self.fold.timeline_and_changes()
        scopes = scopes_of(timeline) | set(self.current) if changed is None else changed
        if not scopes:
            return Change(record, [], [])
        old = {place: row for scope in scopes for place, row in self.current.get(scope, {}).items()}
        started = []
        for row in intervals_in(timeline, scopes):
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
