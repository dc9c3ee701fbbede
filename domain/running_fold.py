"""The running fold: a treaty's timeline kept folded, advanced one recorded event at a time.

:func:`~treaty_ledger.domain.fold.build_timeline` folds a whole history; a :class:`RunningFold`
keeps the fold's state after the last event and folds each new one onto it, so that checking
an event dated on or after the latest effective date costs the same whatever the history's
length. An event that lands earlier (a back-filled act, a correction, a retraction) refolds
from the latest checkpoint before the date it touches: the fold keeps checkpoints of its state
along the effective dates (:attr:`RunningFold.checkpoint_every`), denser towards the present.

The fold's state is copied on write (:meth:`~treaty_ledger.domain.fold_state.FoldState.fork`):
an event is folded on a fork, which replaces the running state only if nothing contradicts,
and a finished timeline is folded on another fork, so neither costs a copy of the history.

The aggregate uses it to check events (:class:`~treaty_ledger.domain.treaty.Treaty`), and the
views to know which rows an event changes (:meth:`RunningFold.timeline_and_changes`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, NamedTuple

from treaty_ledger.domain.effective import Change, Effective, EffectiveEvents, order_key
from treaty_ledger.domain.fold import TimelineFold
from treaty_ledger.domain.records import Record
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.shared_list import SharedList
from treaty_ledger.domain.timeline import ITEM_COLLECTIONS, Scope, Timeline

__all__ = ["RunningFold"]

_Key = tuple[date, int, int]


@dataclass(frozen=True, slots=True)
class _Checkpoint:
    """The fold's state after the first ``position`` effective events (never changed: only forked)."""

    position: int
    state: TimelineFold


class _Noted(NamedTuple):
    """A recorded event noted since the last settle, and how to take it back."""

    record: Record
    change: Change
    previous_sequence: int


class RunningFold:
    """A treaty's effective events, in order, and its timeline folded up to the last of them.

    :meth:`note` takes recorded events (in recorded order) into the effective events;
    :meth:`settle` folds what was noted, or raises the contradiction and takes it all back.
    :meth:`add` does both. Everything noted is known at once (:meth:`effective`,
    :meth:`retraction_of`), whether or not it is settled yet.

    The fold reads the recorded events it refers to through ``find`` (the treaty's
    :class:`~treaty_ledger.domain.shared_list.RecordLog`): a record must be found there once it
    is noted, except the one being checked. A copy (:meth:`copy`) costs the same whatever the
    history's length: it shares the event order (a :class:`~treaty_ledger.domain.shared_list.SharedList`)
    and the fold's state (copied on write).

    With ``in_place``, an event after the last is folded onto the running state itself, not
    onto a fork of it: for the views, which read each timeline (:meth:`timeline_and_changes`)
    before the next event, and record only events the ledger checked. A contradiction then
    costs a refold from the latest checkpoint, and the fold is as before it. (Where states can
    affect one another, a minimum number of parties or a term, the fold forks as usual: it
    compares each timeline with the last.)
    """

    checkpoint_every: ClassVar[int] = 256
    """Events folded between two checkpoints, near the present."""
    max_checkpoints: ClassVar[int] = 24
    """Checkpoints kept: past this, every other one of the older half goes (the older, the sparser)."""

    def __init__(self, rules: TreatyRules, find: Callable[[str], Record | None], *, in_place: bool = False) -> None:
        self.rules = rules
        self._in_place = in_place and not rules.states_interact
        self.sequence = 0
        """The sequence of the last recorded event noted (0: none)."""
        self._effective = EffectiveEvents(find)
        self._order: SharedList[Effective] = SharedList()
        empty = TimelineFold(rules, self._effective.get)
        self._checkpoints = [_Checkpoint(0, empty)]
        self._state = empty.fork()
        self._folded = 0
        """How many effective events :attr:`_state` has folded (the first ones of :attr:`_order`)."""
        self._frontier: _Key | None = None
        """The order key of the last event folded (``None``: none)."""
        self._noted: list[_Noted] = []
        self._lowest: _Key | None = None
        """The lowest order key the events noted since the last settle touch."""
        self._dirty: set[Scope] | None = set()
        self._finished: TimelineFold | None = None
        self._last_finish: set[Scope] = set()
        self._published: Timeline | None = None
        """The timeline :meth:`timeline_and_changes` last returned."""

    def copy(self, find: Callable[[str], Record | None]) -> RunningFold:
        """A copy that goes on independently, reading records through ``find`` (the copy's own log)."""
        other = object.__new__(RunningFold)
        other.__dict__.update(self.__dict__)
        other._effective = self._effective.copy(find)
        other._state = self._state.fork()
        # The lookup each state holds must be the copy's own effective events.
        other._state.lookup = other._effective.get
        other._order = self._order.copy()
        other._checkpoints = list(self._checkpoints)
        other._noted = list(self._noted)
        other._dirty = None if self._dirty is None else set(self._dirty)
        other._last_finish = set(self._last_finish)
        return other

    # -- what is known ----------------------------------------------------------------------

    def effective(self, event_id: str) -> Effective | None:
        """The event with ``event_id`` as its corrections leave it (``None``: unknown or retracted)."""
        return self._effective.get(event_id)

    def retraction_of(self, event_id: str) -> str | None:
        """The id of the retraction of event ``event_id``, if it was retracted."""
        return self._effective.retracted.get(event_id)

    # -- folding ------------------------------------------------------------------------------

    def add(self, records: Iterable[Record]) -> None:
        """Note ``records`` and settle: raises the first contradiction, having taken them back."""
        for record in records:
            self.note(record)
        self.settle()

    def note(self, record: Record) -> None:
        """Take the next recorded event into the effective events, to be folded by :meth:`settle`."""
        if record.sequence != self.sequence + 1:
            raise ValueError(f"expected the event of sequence {self.sequence + 1}, got {record.sequence}")
        change = self._effective.add(record)
        for event in (change.left, change.entered):
            if event is not None:
                key = order_key(event)
                self._lowest = key if self._lowest is None else min(self._lowest, key)
        if change.left is not None:
            self._remove(change.left)
        if change.entered is not None:
            self._insert(change.entered)
        self._noted.append(_Noted(record, change, self.sequence))
        self.sequence = record.sequence

    def settle(self) -> None:
        """Fold the events noted since the last settle.

        From the running state when they all come after the last event folded; else from the
        latest checkpoint before the earliest date they touch. On a contradiction nothing
        changes (what was noted is taken back) and the error, naming its event, is raised.
        """
        lowest, self._lowest = self._lowest, None
        noted, self._noted = self._noted, []
        if lowest is None:
            return
        in_place = False
        if self._frontier is None or lowest > self._frontier:
            base, start, keep = self._state, self._folded, len(self._checkpoints)
            touched: set[Scope] | None = set()
            in_place = self._in_place
        else:
            unchanged = bisect.bisect_left(self._order, lowest, key=order_key)
            keep = bisect.bisect_right([c.position for c in self._checkpoints], unchanged)
            checkpoint = self._checkpoints[keep - 1]
            base, start, touched = checkpoint.state, checkpoint.position, None
        try:
            state, made = self._fold(base, start, touched, fork=not in_place)
        except BaseException:  # a contradiction, or anything else: the fold stays as it was
            for entry in reversed(noted):
                self._take_back(entry)
            if in_place:  # the running state took part of it: fold again from the latest checkpoint
                latest = self._checkpoints[-1]
                self._state, made = self._fold(latest.state, latest.position, None)
                self._checkpoints.extend(made)
                self._dirty = None
                self._finished = None
            raise
        self._state = state
        self._checkpoints[keep:] = made
        self._thin()
        self._folded = len(self._order)
        self._frontier = order_key(self._order[-1]) if self._order else None
        self._finished = None
        if self._dirty is not None:
            self._dirty = None if touched is None else self._dirty | touched

    def _fold(self, base: TimelineFold, start: int, touched: set[Scope] | None, *,
              fork: bool = True) -> tuple[TimelineFold, list[_Checkpoint]]:
        """Fold ``self._order[start:]`` on a fork of ``base`` (or on ``base`` itself); return the state
        and the checkpoints taken on the way, adding the scopes it changed to ``touched`` (unless
        ``None``: unknown)."""
        if fork:
            state = base.fork()
        else:
            state = base
            state.touched = set()
        state.lookup = self._effective.get
        made: list[_Checkpoint] = []
        last = self._checkpoints[-1].position if start >= self._checkpoints[-1].position else start
        for position in range(start, len(self._order)):
            if position - last >= self.checkpoint_every:
                if touched is not None:
                    touched |= state.touched
                made.append(_Checkpoint(position, state))
                state = state.fork()
                last = position
            state.step(self._order[position])
        if touched is not None:
            touched |= state.touched
        return state, made

    def _take_back(self, entry: _Noted) -> None:
        change = entry.change
        if change.entered is not None:
            self._remove(change.entered)
        if change.left is not None:
            self._insert(change.left)
        self._effective.undo(entry.record, change)
        self.sequence = entry.previous_sequence

    def _insert(self, event: Effective) -> None:
        key = order_key(event)
        if not self._order or key > order_key(self._order[-1]):
            self._order.append(event)  # the usual case: an event dated on or after the last
        else:
            self._order.insert(bisect.bisect_left(self._order, key, key=order_key), event)

    def _remove(self, event: Effective) -> None:
        at = bisect.bisect_left(self._order, order_key(event), key=order_key)
        if at == len(self._order) or self._order[at].id != event.id:  # pragma: no cover - the order is kept by this class alone
            raise AssertionError(f"event {event.id} is not where its order key puts it")
        del self._order[at]

    def _thin(self) -> None:
        """Keep at most :attr:`max_checkpoints`: drop every other one of the older half (never the first)."""
        if len(self._checkpoints) <= self.max_checkpoints:
            return
        half = len(self._checkpoints) // 2
        older = self._checkpoints[:half]
        self._checkpoints = [older[0], *older[2::2], *self._checkpoints[half:]]

    # -- the timeline --------------------------------------------------------------------------

    def timeline(self) -> Timeline:
        """The finished timeline of everything settled (folded once per change, then kept)."""
        return self._finish().timeline

    def timeline_and_changes(self) -> tuple[Timeline, set[Scope] | None]:
        """A timeline finished in the scopes that may have changed since the last call, and those scopes.

        For the views, which rewrite the rows of those scopes only: read nothing else of the
        timeline returned. The scopes are ``None`` when any part may have changed (after a
        refold from a checkpoint, or on the first call), and the timeline is then finished
        throughout.

        Where states cannot affect one another (no minimum number of parties, no term), a scope changes
        only when an event changes it, and only what was scheduled for the changed states is
        applied. Otherwise the whole timeline is finished, and a scope that finishing this
        timeline or the last one changed counts when it differs between the two.
        """
        if self._noted:
            self.settle()
        dirty, self._dirty = self._dirty, set()
        if dirty is None or self._published is None:
            finished = self._finish()
            self._published = finished.timeline
            self._last_finish = set(finished.touched) if finished is not self._state else set()
            return finished.timeline, None
        if not self.rules.states_interact:
            states = _states_concerned(self._state.timeline, dirty)
            if not any(item[3] in states for item in self._state.pending):
                return self._state.timeline, dirty
            partial = self._state.fork()
            timeline = partial.finish(states)
            return timeline, dirty | partial.touched  # finishing may change more than the states' rows (a provisional application ended)
        finished = self._finish()
        timeline, previous = finished.timeline, self._published
        touched = finished.touched if finished is not self._state else set()
        # What finishing changes is folded again each time: count it only where it differs.
        changed = dirty | {scope for scope in (touched | self._last_finish) - dirty if _differs(previous, timeline, scope)}
        self._last_finish = set(touched)
        self._published = timeline
        return timeline, changed

    def _finish(self) -> TimelineFold:
        """The running state, finished: itself when nothing is scheduled, else a fork that applies what is.

        (The running state is only ever forked, never changed, so its timeline can be shared.)
        """
        if self._noted:
            self.settle()
        if self._finished is None:
            if self._state.pending:
                self._finished = self._state.fork()
                self._finished.finish()
            else:
                self._finished = self._state
        return self._finished


def _states_concerned(timeline: Timeline, dirty: set[Scope]) -> set[str]:
    """The states whose scheduled acts can change a scope of ``dirty``: its states, the states its items belong to,
    and, through each objection in force, the objecting and the reserving state together (either's withdrawal ends it)."""
    states = {key for name, key in dirty if name == "state"}
    for name, key in dirty:
        if name != "item":
            continue
        for collection in ITEM_COLLECTIONS.values():
            item = getattr(timeline, collection).get(key)
            if item is not None:
                states.update(s for s in (getattr(item, "state", None), getattr(item, "reserving_state", None)) if isinstance(s, str))
                break
    links = [(o.state, o.reserving_state) for o in timeline.objections.values() if o.until is None]
    grown = bool(links)
    while grown:
        grown = False
        for objector, reserver in links:
            if (objector in states) != (reserver in states):
                states.update((objector, reserver))
                grown = True
    return states


def _differs(before: Timeline, after: Timeline, scope: Scope) -> bool:
    """Whether ``scope`` holds anything different in two timelines (compared as values)."""
    name, key = scope
    if name == "treaty":
        return before.phases != after.phases
    if name == "state":
        return before.segments.get(key) != after.segments.get(key) or (
            before.suspensions is not after.suspensions
            and [s for s in before.suspensions.values() if s.state == key] != [s for s in after.suspensions.values() if s.state == key]
        )
    return any(getattr(before, items).get(key) != getattr(after, items).get(key) for items in ITEM_COLLECTIONS.values())
