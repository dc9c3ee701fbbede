"""The fold's running state, and the steps every kind of event shares: how the timeline is written.

:class:`FoldState` holds the timeline being built and each state's running standing
(:class:`Track`); the handlers of participation (:mod:`treaty_ledger.domain.participation`)
and compliance (:mod:`treaty_ledger.domain.compliance`) events build on it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from treaty_ledger.domain.effective import Effective
from treaty_ledger.domain.errors import TimelineContradiction
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.timeline import Phase, Segment, Suspension, Timeline

__all__ = ["FoldState", "Track"]


@dataclass(slots=True)
class Track:
    """The running standing of one state during the fold."""

    state: str
    status: str = "none"
    since: date | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    signed_on: date | None = None
    deposited_on: date | None = None
    in_force_since: date | None = None
    joining_on: date | None = None
    withdrawal_token: int = 0
    joining_token: int = 0
    suspension: Suspension | None = None
    dissolved: tuple[date, str, date | None, date | None, date | None] | None = None
    predecessor: str | None = None


class FoldState:
    """The timeline being folded from a treaty's effective events, and the steps that write it."""

    def __init__(self, rules: TreatyRules, events: list[Effective]) -> None:
        self.rules = rules
        self.events = events
        self.by_id = {event.id: event for event in events}
        self.timeline = Timeline(events=events)
        self.tracks: dict[str, Track] = {}
        self.pending: list[tuple[date, int, str, str, int, str]] = []
        self.counter = 0
        self.in_force_on: date | None = None
        self.terminated_on: date | None = None
        self.adopted_on: date | None = None
        self.phase = Phase("not_in_force", None, None, ())
        self.timeline.phases.append(self.phase)
        self.current: Effective | None = None

    # -- helpers ---------------------------------------------------------------------------

    def fail(self, field: str | None, reason: str) -> TimelineContradiction:
        error = TimelineContradiction(reason, field=field)
        error.event_id = self.current.id if self.current else None  # type: ignore[attr-defined]
        return error

    def track(self, state: str) -> Track:
        if state not in self.tracks:
            self.tracks[state] = Track(state)
            self.timeline.segments[state] = []
        return self.tracks[state]

    def set_status(self, track: Track, status: str, on: date, detail: dict[str, Any] | None = None) -> None:
        segments = self.timeline.segments[track.state]
        if segments and segments[-1].until is None:
            if segments[-1].since >= on:
                segments.pop()
            else:
                segments[-1].until = on
        track.status = status
        track.since = on
        track.detail = dict(detail or {})
        if track.predecessor and track.status != "none":
            track.detail["predecessor"] = track.predecessor
        in_force = track.in_force_since is not None and status in ("party", "withdrawing")
        segments.append(Segment(track.state, status, on, None, dict(track.detail), tuple(track.events), in_force))

    def schedule(self, on: date, kind: str, state: str, token: int, cause: str) -> None:
        self.counter += 1
        heapq.heappush(self.pending, (on, self.counter, kind, state, token, cause))

    def set_phase(self, phase: str, on: date, events: tuple[str, ...]) -> None:
        if self.phase.since is not None and self.phase.since >= on:
            self.timeline.phases.pop()
        else:
            self.phase.until = on
        self.phase = Phase(phase, on, None, events)
        self.timeline.phases.append(self.phase)

    def note(self, track: Track, event: Effective) -> None:
        track.events.append(event.id)
        track.events.extend(event.corrections)
