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

from domain.events import EVENT_TYPES
from domain.records import Record
from domain.rules import TreatyRules
from domain.timeline import build_timeline, effective_events
from projections.intervals import Interval, intervals_of

__all__ = ["Change", "Scope", "TreatyProjector"]

_PARTICIPATION = {name for name, spec in EVENT_TYPES.items() if spec.category == "participation"}
_COMPLIANCE = {name for name, spec in EVENT_TYPES.items() if spec.category == "compliance"}
_TREATY_WIDE = {name for name, spec in EVENT_TYPES.items() if spec.treaty_wide}


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rows an event can change: all of them, one state's, the compliance items, or none."""

    name: str
    state: str | None = None

    def covers(self, row: Interval) -> bool:
        """Whether ``row`` lies in this scope."""
        if self.name == "treaty":
            return True
        if self.name == "state":
            return (row.kind == "status" and row.key == self.state) or (
                row.kind == "suspension" and row.key.startswith(f"{self.state}/")
            )
        if self.name == "compliance":
            return row.kind in ("restriction", "allegation", "flight")
        return False


@dataclass(frozen=True, slots=True)
class Change:
    """The rows an event ends and the rows it starts."""

    record: Record
    ended: list[Interval]
    started: list[Interval]


class TreatyProjector:
    """A treaty's records and current rows, kept in memory and advanced event by event."""

    def __init__(self, treaty: str, rules: TreatyRules, records: Iterable[Record] = (), current: Iterable[Interval] = ()) -> None:
        self.treaty = treaty
        self.rules = rules
        self.records: list[Record] = sorted(records, key=lambda r: r.sequence)
        self.current: dict[tuple[object, ...], Interval] = {row.identity(): row for row in current}
        self.has_succession = any(r.type == "succeeded" for r in self.records)

    @property
    def last_sequence(self) -> int:
        """The sequence of the last event applied (0 before any)."""
        return self.records[-1].sequence if self.records else 0

    def initial_rows(self) -> list[Interval]:
        """The rows of a treaty with no events yet (its phase: not in force)."""
        rows = intervals_of(build_timeline(self.rules, []))
        self.current = {row.identity(): row for row in rows}
        return rows

    def scope_of(self, record: Record) -> Scope:
        """The rows ``record`` can change."""
        if record.type in _COMPLIANCE:
            return Scope("compliance")
        if record.type not in _PARTICIPATION:
            return Scope("treaty") if record.type in ("correction", "retraction") else Scope("none")
        if record.type in _TREATY_WIDE or record.type == "succeeded" or self.has_succession or self.rules.minimum_parties:
            return Scope("treaty")
        return Scope("state", record.state)

    def apply(self, record: Record) -> Change:
        """Apply the next recorded event; return the rows it ends and starts."""
        if record.sequence != self.last_sequence + 1:
            raise ValueError(f"{self.treaty}: expected sequence {self.last_sequence + 1}, got {record.sequence}")
        self.records.append(record)
        self.has_succession = self.has_succession or record.type == "succeeded"
        scope = self.scope_of(record)
        if scope.name == "none":
            return Change(record, [], [])
        if scope.name == "state":
            subset = [r for r in self.records if r.type in _TREATY_WIDE or r.type in ("correction", "retraction")
                      or (r.type in _PARTICIPATION and r.state == scope.state)]
        elif scope.name == "compliance":
            subset = [r for r in self.records if r.type in _COMPLIANCE or r.type in ("correction", "retraction")]
        else:
            subset = self.records
        fresh = [row for row in intervals_of(build_timeline(self.rules, effective_events(subset))) if scope.covers(row)]
        old = {key: row for key, row in self.current.items() if scope.covers(row)}
        new = {row.identity(): row for row in fresh}
        ended = [row for key, row in old.items() if key not in new]
        started = [row for key, row in new.items() if key not in old]
        for row in ended:
            del self.current[row.identity()]
        for row in started:
            self.current[row.identity()] = row
        return Change(record, ended, started)
