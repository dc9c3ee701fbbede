"""The timeline fold: recorded events, in effective-date order, folded into legal effects.

:func:`~treaty_ledger.domain.effective.effective_events` applies corrections and retractions and
orders the events; :func:`build_timeline` folds them with the treaty's rules into a
:class:`~treaty_ledger.domain.timeline.Timeline`. An act that contradicts the timeline raises
:class:`~treaty_ledger.domain.errors.TimelineContradiction` naming the event, the field and the reason.

The same fold checks a new event before it is recorded and answers queries by replay, so the
ledger accepts exactly the histories it can answer for. :class:`~treaty_ledger.domain.running_fold.RunningFold`
keeps it running, event by event, for the aggregate and the views.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection

from treaty_ledger.domain.compliance import ComplianceFold
from treaty_ledger.domain.effective import Effective
from treaty_ledger.domain.events import EVENT_TYPES, PARTICIPATION
from treaty_ledger.domain.participation import ParticipationFold
from treaty_ledger.domain.reservations import ReservationFold
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.timeline import Timeline

__all__ = ["TimelineFold", "build_timeline"]


class TimelineFold(ParticipationFold, ReservationFold, ComplianceFold):
    """One fold of a treaty's effective events: each event to its type's handler, in order."""

    def step(self, event: Effective) -> None:
        """Fold the next event (in effective-date order): what was scheduled until its date, then the event."""
        self.current = event
        if self.pending:
            self.advance(event.date)
        if event.type in PARTICIPATION:
            self.check_not_terminated(event)
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(self, event)
        self.current = None

    def finish(self, states: Collection[str] | None = None) -> Timeline:
        """Apply what was scheduled after the last event, and return the timeline.

        Finishing never contradicts (only events do), so a state that folded every event
        without error has a timeline. With ``states``, only what was scheduled for them is
        applied (the rest is dropped): the timeline is then finished for those states alone,
        which is exact only when states cannot affect one another (no minimum number of
        parties, no term), and is for reading those states' standing only.
        """
        if states is not None:
            self.pending = [item for item in self.pending if item[3] in states]
            heapq.heapify(self.pending)
        self.advance(None)
        return self.timeline


_HANDLERS = {name: getattr(TimelineFold, f"on_{name}") for name in EVENT_TYPES if hasattr(TimelineFold, f"on_{name}")}
"""Each event type's handler in the fold (looked up once, not per event)."""



def build_timeline(rules: TreatyRules, events: list[Effective]) -> Timeline:
    """Fold effective events (in effective-date order) into the treaty's timeline, from nothing.

    Raises :class:`~treaty_ledger.domain.errors.TimelineContradiction` for the first act that contradicts
    it; the error's ``event_id`` names that event.
    """
    fold = TimelineFold(rules, {event.id: event for event in events}.get)
    for event in events:
        fold.step(event)
    return fold.finish()
