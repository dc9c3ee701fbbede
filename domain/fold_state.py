"""The fold's running state, and the steps every kind of event shares: how the timeline is written.

:class:`FoldState` holds the timeline being built and each state's running standing
(:class:`Track`); the handlers of participation (:mod:`treaty_ledger.domain.participation`)
and compliance (:mod:`treaty_ledger.domain.compliance`) events build on it.

A state can be **forked** (:meth:`FoldState.fork`): the fork and the original then share every
track, list and item until one of them writes it, and the writer copies it first (copy on
write). Forking costs the same whatever the history's length, which is what lets
:class:`~treaty_ledger.domain.running_fold.RunningFold` try an event on a fork (and drop the
fork if it contradicts), finish a timeline without disturbing the running state, and keep
checkpoints. The rule that makes this hold: handlers change the fold only through the steps
here (:meth:`FoldState.track`, :meth:`FoldState.set_status`, :meth:`FoldState.amend_segment`,
:meth:`FoldState.set_phase`, :meth:`FoldState.put_suspension`, :meth:`FoldState.put_item`,
:meth:`FoldState.schedule`), and treat timeline items as values (replaced, never altered).
Each step also notes the :data:`~treaty_ledger.domain.timeline.Scope` it changed
(:attr:`FoldState.touched`), so that the views rewrite only those rows.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Self

from treaty_ledger.domain.effective import Effective, order_key
from treaty_ledger.domain.errors import TimelineContradiction
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.timeline import (
    ITEM_COLLECTIONS,
    TREATY_SCOPE,
    Declaration,
    Item,
    Objection,
    Phase,
    Provisional,
    Reservation,
    Scope,
    Segment,
    Suspension,
    Territory,
    Timeline,
)

__all__ = ["EventLookup", "FoldState", "Track"]

EventLookup = Callable[[str], Effective | None]
"""Finds an effective event of the treaty by id (``None``: no such event, or it was retracted)."""

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
    suspension: str | None = None
    """The id of the state's latest suspension of implementation (in :attr:`Timeline.suspensions`)."""
    provisional: str | None = None
    """The id of the state's latest provisional application (in :attr:`Timeline.provisional`)."""
    dissolved: tuple[date, str, date | None, date | None, date | None] | None = None
    predecessor: str | None = None

    def copied(self) -> Track:
        """A copy that can be changed without changing this one."""
        return Track(self.state, self.status, self.since, dict(self.detail), list(self.events), self.signed_on, self.deposited_on,
                     self.in_force_since, self.joining_on, self.withdrawal_token, self.joining_token, self.suspension,
                     self.provisional, self.dissolved, self.predecessor)


WITHOUT_STANDING = frozenset({"none", "withdrawn", "terminated", "expired"})
"""The statuses in which a state has no standing under the treaty: what it said there has ended."""


class FoldState:
    """The timeline being folded from a treaty's effective events, and the steps that write it."""

    def __init__(self, rules: TreatyRules, lookup: EventLookup) -> None:
        self.rules = rules
        self.lookup = lookup
        self.timeline = Timeline(phases=[Phase("not_in_force", None, None, ())])
        self.tracks: dict[str, Track] = {}
        self.pending: list[tuple[date, int, str, str, int, str]] = []
        self.counter = 0
        self.in_force_on: date | None = None
        self.terminated_on: date | None = None
        self.expires_on: date | None = None
        """For a treaty with a term, in force: the date it expires, as extended so far."""
        self.expired_on: date | None = None
        self.extensions: tuple[dict[str, Any], ...] = ()
        """The extensions so far: ``{"on", "until", "events"}`` each."""
        self.expiry_token = 0
        self.adopted_on: date | None = None
        self.current: Effective | None = None
        self.touched: set[Scope] = set()
        """The scopes this state changed since it was made or last forked."""
        self._shared = False
        self._owned: set[tuple[str, str]] = set()

    def fork(self) -> Self:
        """A copy to go on folding with; this state and the copy share what neither has written.

        Costs a copy of two maps of one entry per state and two short lists (the phases, what is
        scheduled); the rest is copied on write,
        by whichever of the two writes first. The fork's :attr:`touched` starts empty.
        """
        child = object.__new__(type(self))
        child.__dict__.update(self.__dict__)
        timeline = self.timeline
        child.timeline = replace(timeline, phases=list(timeline.phases), segments=dict(timeline.segments))
        child.tracks = dict(self.tracks)
        child.pending = list(self.pending)
        child.current = None
        child.touched = set()
        child._owned = set()
        self._owned = set()
        self._shared = child._shared = True
        return child

    # -- copy on write ---------------------------------------------------------------------

    def _first_write(self, kind: str, key: str = "") -> bool:
        """Whether this is the first write of ``kind``/``key`` since the last fork (the writer copies it)."""
        if not self._shared or (kind, key) in self._owned:
            return False
        self._owned.add((kind, key))
        return True

    # -- helpers ---------------------------------------------------------------------------

    def fail(self, field: str | None, reason: str) -> TimelineContradiction:
        error = TimelineContradiction(reason, field=field)
        error.event_id = self.current.id if self.current else None  # type: ignore[attr-defined]
        return error

    def track(self, state: str) -> Track:
        """``state``'s track, to read or change (copied first if it is shared with another fork)."""
        track = self.tracks.get(state)
        if track is None:
            track = self.tracks[state] = Track(state)
            self.timeline.segments[state] = []
            self._owned.update((("track", state), ("segments", state)))
        elif self._first_write("track", state):
            track = self.tracks[state] = track.copied()
        return track

    def _segments(self, state: str) -> list[Segment]:
        segments = self.timeline.segments[state]
        if self._first_write("segments", state):
            segments = self.timeline.segments[state] = list(segments)
        self.touched.add(("state", state))
        return segments

    def set_status(self, track: Track, status: str, on: date, detail: dict[str, Any] | None = None, *, ends_standing: bool = True) -> None:
        """``track``'s status from ``on``; leaving the treaty ends what the state said there, unless ``ends_standing`` is false."""
        segments = self._segments(track.state)
        if segments and segments[-1].until is None:
            if segments[-1].since >= on:
                segments.pop()
            else:
                segments[-1] = segments[-1].ended(on)
        if track.provisional is not None and status not in ("signatory", "contracting"):
            self.end_provisional(track, on)
        if ends_standing and status in WITHOUT_STANDING and track.status not in WITHOUT_STANDING:
            self.end_standing_items(track.state, on)
        track.status = status
        track.since = on
        track.detail = dict(detail or {})
        if track.predecessor and track.status != "none":
            track.detail["predecessor"] = track.predecessor
        in_force = track.in_force_since is not None and status in ("party", "withdrawing")
        segments.append(Segment(track.state, status, on, None, dict(track.detail), tuple(track.events), in_force))

    def amend_segment(self, state: str, **changes: Any) -> None:
        """Replace ``state``'s latest segment with a copy carrying ``changes``."""
        segments = self._segments(state)
        segments[-1] = replace(segments[-1], **changes)

    def schedule(self, on: date, kind: str, state: str, token: int, cause: str) -> None:
        self.counter += 1
        heapq.heappush(self.pending, (on, self.counter, kind, state, token, cause))

    def set_phase(self, phase: str, on: date, events: tuple[str, ...], detail: dict[str, Any] | None = None) -> None:
        phases = self.timeline.phases
        if phases[-1].since is not None and phases[-1].since >= on:
            phases.pop()
        else:
            phases[-1] = phases[-1].ended(on)
        phases.append(Phase(phase, on, None, events, detail or {}))
        self.touched.add(TREATY_SCOPE)

    def put_suspension(self, suspension: Suspension) -> None:
        """Store ``suspension`` (new, or replacing the one with its id)."""
        if self._first_write("suspensions"):
            self.timeline.suspensions = dict(self.timeline.suspensions)
        self.timeline.suspensions[suspension.id] = suspension
        self.touched.add(("state", suspension.state))

    def end_suspension(self, track: Track, on: date, events: tuple[str, ...] = ()) -> None:
        """End ``track``'s suspension of implementation on ``on``, if one is in force."""
        suspension = self.timeline.suspensions.get(track.suspension) if track.suspension else None
        if suspension is not None and suspension.until is None:
            self.put_suspension(replace(suspension, until=on, events=[*suspension.events, *events]))

    def suspension_in_force(self, track: Track) -> Suspension | None:
        """``track``'s suspension of implementation, if it has not ended."""
        suspension = self.timeline.suspensions.get(track.suspension) if track.suspension else None
        return suspension if suspension is not None and suspension.until is None else None

    def put_item(self, item: Item) -> None:
        """Store an item with a scope of its own (new, or replacing the one with its id)."""
        name = ITEM_COLLECTIONS[type(item)]
        if self._first_write(name):
            setattr(self.timeline, name, dict(getattr(self.timeline, name)))
        getattr(self.timeline, name)[item.id] = item
        self.touched.add(("item", item.id))

    def provisional_in_force(self, track: Track) -> Provisional | None:
        """``track``'s provisional application, if it has not ended."""
        provisional = self.timeline.provisional.get(track.provisional) if track.provisional else None
        return provisional if provisional is not None and provisional.until is None else None

    def end_provisional(self, track: Track, on: date, events: tuple[str, ...] = ()) -> None:
        """End ``track``'s provisional application on ``on``, if one is in force."""
        provisional = self.provisional_in_force(track)
        if provisional is not None:
            self.put_item(replace(provisional, until=on, events=[*provisional.events, *events]))

    def end_standing_items(self, state: str, on: date) -> None:
        """End, on ``on``, what ``state`` said under the treaty: it has left it (or the treaty has ended).

        Its reservations, declarations, territorial applications and objections, and the
        objections of others to its reservations, end with its standing; their history stays.
        """
        timeline = self.timeline
        said: list[Reservation | Declaration | Territory | Objection] = [
            *timeline.reservations.values(), *timeline.declarations.values(), *timeline.territories.values(), *timeline.objections.values()]
        for item in said:
            if item.until is None and (item.state == state or (isinstance(item, Objection) and item.reserving_state == state)):
                self.put_item(replace(item, until=on))

    def referenced(self, event: Effective, name: str, kind: str, ref: str | None = None) -> Effective:
        """The event of type ``kind`` that field ``name`` of ``event`` names (or ``ref``), dated no later than ``event``."""
        ref = str(event.fields[name]) if ref is None else ref
        target = self.lookup(ref)
        if target is None:
            raise self.fail(name, f"no {kind} event with id {ref} in this treaty's history")
        if target.type != kind:
            raise self.fail(name, f"event {ref} is a {target.type} event, not a {kind} event")
        if target.date > event.date:
            raise self.fail(name, f"event {ref} is dated {target.date}, after this event's date {event.date}")
        if order_key(target) > order_key(event):
            raise self.fail(name, f"event {ref} is dated {target.date}, the same day as this event, but comes after it "
                                  "in the treaty's timeline")
        return target

    def note(self, track: Track, event: Effective) -> None:
        track.events.append(event.id)
        track.events.extend(event.corrections)
