"""The timeline fold: recorded events, in effective-date order, folded into legal effects.

:func:`~treaty_ledger.domain.effective.effective_events` applies corrections and retractions and
orders the events; :func:`build_timeline` folds them with the treaty's rules into a
:class:`~treaty_ledger.domain.timeline.Timeline`. An act that contradicts the timeline raises
:class:`~treaty_ledger.domain.errors.TimelineContradiction` naming the event, the field and the reason.

The same fold checks a new event before it is recorded and answers queries by replay, so the
ledger accepts exactly the histories it can answer for.
"""

from __future__ import annotations

from treaty_ledger.domain.compliance import ComplianceFold
from treaty_ledger.domain.effective import Effective
from treaty_ledger.domain.events import EVENT_TYPES, PARTICIPATION
from treaty_ledger.domain.participation import ParticipationFold
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.timeline import Timeline

__all__ = ["TimelineFold", "build_timeline"]


class TimelineFold(ParticipationFold, ComplianceFold):
    """One fold of a treaty's effective events: each event to its type's handler, in order."""

    def run(self) -> Timeline:
        """Fold every event in order, then what was scheduled after the last; return the timeline."""
        for event in self.events:
            self.current = event
            if self.pending:
                self.advance(event.date)
            if event.type in PARTICIPATION:
                self.check_not_terminated(event)
            handler = _HANDLERS.get(event.type)
            if handler is not None:
                handler(self, event)
        self.current = None
        self.advance(None)
        return self.timeline


_HANDLERS = {name: getattr(TimelineFold, f"on_{name}") for name in EVENT_TYPES if hasattr(TimelineFold, f"on_{name}")}
"""Each event type's handler in the fold (looked up once, not per event)."""



def build_timeline(rules: TreatyRules, events: list[Effective]) -> Timeline:
    """Fold effective events (in effective-date order) into the treaty's timeline.

    Raises :class:`~treaty_ledger.domain.errors.TimelineContradiction` for the first act that contradicts
    it; the error's ``event_id`` names that event.
    """
    return TimelineFold(rules, events).run()
