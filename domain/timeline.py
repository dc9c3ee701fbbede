"""The treaty's timeline: recorded events folded, in effective-date order, into legal effects.

:func:`effective_events` applies corrections and retractions (as known at a moment) and puts
the events in effective-date order. :func:`build_timeline` folds them with the treaty's rules
into intervals: each state's status, the treaty's phases, suspensions, restrictions,
allegations and denied flights. An act that contradicts the timeline raises
:class:`~treaty_ledger.domain.errors.TimelineContradiction` naming the event, the field and the reason.

The same fold checks a new event before it is recorded and answers queries by replay, so the
ledger accepts exactly the histories it can answer for.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from treaty_ledger.domain.dates import parse_date
from treaty_ledger.domain.errors import InvalidInput, LedgerError, TimelineContradiction
from treaty_ledger.domain.events import EVENT_TYPES, LEDGER_FIELDS, normalise_fields
from treaty_ledger.domain.records import Record
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.states import is_historic

__all__ = [
    "Allegation",
    "Effective",
    "Flight",
    "Phase",
    "Restriction",
    "Segment",
    "Suspension",
    "Timeline",
    "apply_changes",
    "build_timeline",
    "effective_events",
]

BOUND = ("contracting", "party", "withdrawing")
"""Statuses of a state that has deposited an instrument and not withdrawn."""

# Same-day order: signatures, then deposits, then entry into force (which binds every state
# that deposited "by then"), then everything else, and termination last.
_PRIORITY = {"adopted": 0, "signed": 1, "ratified": 2, "acceded": 2, "succeeded": 3, "entered_into_force": 4, "terminated": 9}


class Effective(NamedTuple):
    """An event as it stands after the corrections known at the moment asked about.

    A named tuple, not a frozen dataclass: folds make one per event per refold, and a tuple
    is several times cheaper to create.
    """

    id: str
    type: str
    date: date
    fields: Mapping[str, Any]
    sequence: int
    recorded_at: datetime
    corrections: tuple[str, ...] = ()

    @property
    def state(self) -> str | None:
        """The acting state, for events of one state."""
        value = self.fields.get("state")
        return value if isinstance(value, str) else None

    @property
    def event_ids(self) -> tuple[str, ...]:
        """This event's id and the ids of the corrections applied to it."""
        return (self.id, *self.corrections)


def apply_changes(record_type: str, record_date: date | None, fields: Mapping[str, Any], changes: Mapping[str, Any]) -> tuple[date | None, dict[str, Any]]:
    """Apply a correction's ``changes`` to an event's date and fields, checked as new input."""
    spec = EVENT_TYPES[record_type]
    new_date = record_date
    merged = dict(fields)
    for name, value in changes.items():
        if name == "date":
            new_date = parse_date(value, field="changes.date")
        elif name in ("type", "source", *LEDGER_FIELDS):
            raise InvalidInput(f"a correction cannot change '{name}'; record a retraction and a new event instead", field=f"changes.{name}")
        elif spec.field_named(name) is None:
            raise InvalidInput(f"a {record_type} event has no field {name!r}", field=f"changes.{name}")
        elif value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    try:
        return new_date, normalise_fields(spec, merged)
    except LedgerError as error:
        raise error.at("changes") from None


def effective_events(records: Iterable[Record], known_at: datetime | None = None) -> list[Effective]:
    """The events in force as known at ``known_at`` (all when ``None``), corrected, in effective-date order.

    Corrections and retractions count from their recorded time; each correction's changes
    apply on top of the earlier ones.
    """
    originals: dict[str, Effective] = {}
    retracted: set[str] = set()
    for record in sorted(records, key=lambda r: r.sequence):
        if known_at is not None and record.recorded_at > known_at:
            break
        if record.type == "retraction":
            retracted.add(str(record.fields["retracts"]))
        elif record.type == "correction":
            target = originals.get(str(record.fields["corrects"]))
            if target is None:
                continue
            new_date, new_fields = apply_changes(target.type, target.date, target.fields, record.fields["changes"])
            originals[target.id] = Effective(
                id=target.id,
                type=target.type,
                date=new_date or target.date,
                fields=new_fields,
                sequence=target.sequence,
                recorded_at=target.recorded_at,
                corrections=(*target.corrections, record.id),
            )
        elif record.date is not None:
            originals[record.id] = Effective(record.id, record.type, record.date, record.fields, record.sequence, record.recorded_at)
    kept = [event for event in originals.values() if event.id not in retracted]
    kept.sort(key=lambda e: (e.date, _PRIORITY.get(e.type, 5), e.sequence))
    return kept


@dataclass(slots=True)
class Segment:
    """A state's status over ``[since, until)``; ``until`` is ``None`` when open-ended."""

    state: str
    status: str
    since: date
    until: date | None
    detail: dict[str, Any]
    events: tuple[str, ...]
    in_force: bool = False

    def holds_on(self, day: date) -> bool:
        """Whether the segment covers ``day``."""
        return self.since <= day and (self.until is None or day < self.until)


@dataclass(slots=True)
class Phase:
    """The treaty's phase over ``[since, until)``: ``not_in_force``, ``in_force`` or ``terminated``."""

    phase: str
    since: date | None
    until: date | None
    events: tuple[str, ...]

    def holds_on(self, day: date) -> bool:
        """Whether the phase covers ``day``."""
        return (self.since is None or self.since <= day) and (self.until is None or day < self.until)


@dataclass(slots=True)
class Suspension:
    """A state's suspension of implementation over ``[since, until)``."""

    id: str
    state: str
    towards: list[str]
    since: date
    until: date | None
    events: list[str]


@dataclass(slots=True)
class Restriction:
    """A restriction on observation flights over ``[since, until)``."""

    id: str
    state: str
    area: str
    kind: str
    detail: str
    towards: list[str]
    since: date
    until: date | None
    events: list[str]
    claimed_by: str | None = None


@dataclass(slots=True)
class Allegation:
    """An allegation of non-compliance; ``responses`` hold (date, type, event id, state, text)."""

    id: str
    accuser: str
    accused: str
    subject: str
    restrictions: list[str]
    made_on: date
    responses: list[dict[str, Any]]
    events: list[str]

    def standing_on(self, day: date) -> str:
        """``open``, ``disputed`` or ``resolved`` on ``day``."""
        standing = "open"
        for response in self.responses:
            if response["date"] > day:
                break
            standing = "resolved" if response["type"] == "allegation_resolved" else "disputed"
        return standing


@dataclass(slots=True)
class Flight:
    """A denied observation flight with the timeframes offered and refused."""

    id: str
    host: str
    observers: list[str]
    reason: str
    denied_on: date
    offers: list[dict[str, Any]]
    refusals: list[dict[str, Any]]
    events: list[str]
    claimed_by: str | None = None


@dataclass(slots=True)
class Timeline:
    """Everything the fold derives: the answers for every date, as intervals."""

    phases: list[Phase] = field(default_factory=list)
    segments: dict[str, list[Segment]] = field(default_factory=dict)
    suspensions: list[Suspension] = field(default_factory=list)
    restrictions: dict[str, Restriction] = field(default_factory=dict)
    allegations: dict[str, Allegation] = field(default_factory=dict)
    flights: dict[str, Flight] = field(default_factory=dict)
    events: list[Effective] = field(default_factory=list)

    def segment_on(self, state: str, day: date) -> Segment | None:
        """``state``'s segment on ``day``, or ``None`` when it has no standing then."""
        for segment in self.segments.get(state, ()):
            if segment.holds_on(day):
                return segment
        return None


@dataclass(slots=True)
class _Track:
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


class _Fold:
    def __init__(self, rules: TreatyRules, events: list[Effective]) -> None:
        self.rules = rules
        self.events = events
        self.by_id = {event.id: event for event in events}
        self.timeline = Timeline(events=events)
        self.tracks: dict[str, _Track] = {}
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

    def track(self, state: str) -> _Track:
        if state not in self.tracks:
            self.tracks[state] = _Track(state)
            self.timeline.segments[state] = []
        return self.tracks[state]

    def set_status(self, track: _Track, status: str, on: date, detail: dict[str, Any] | None = None) -> None:
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

    def parties_count(self) -> int:
        return sum(1 for t in self.tracks.values() if t.status in ("party", "withdrawing") and t.in_force_since is not None)

    def check_minimum(self, on: date, cause: str) -> None:
        minimum = self.rules.minimum_parties
        if minimum is None or self.in_force_on is None or self.terminated_on is not None:
            return
        if self.parties_count() < minimum:
            self.terminate(on, (cause,), derived=True)

    def terminate(self, on: date, events: tuple[str, ...], *, derived: bool) -> None:
        self.terminated_on = on
        self.set_phase("terminated", on, events)
        for track in self.tracks.values():
            if track.status in BOUND:
                track.events.extend(e for e in events if e not in track.events)
                self.set_status(track, "terminated", on, {"derived": derived} if derived else {})
                track.withdrawal_token += 1
                track.joining_token += 1
            if track.suspension and track.suspension.until is None:
                track.suspension.until = on

    def advance(self, until: date | None) -> None:
        while self.pending and (until is None or self.pending[0][0] <= until):
            on, _, kind, state, token, cause = heapq.heappop(self.pending)
            track = self.tracks[state]
            if kind == "joins" and token == track.joining_token and track.status == "contracting":
                track.in_force_since = on
                self.set_status(track, "party", on)
            elif kind == "joins" and token == track.joining_token and track.status == "withdrawing":
                track.in_force_since = on
                self.set_status(track, "withdrawing", on, track.detail)
            elif kind == "withdraws" and token == track.withdrawal_token and track.status == "withdrawing":
                detail = {"notified_on": track.detail["notified_on"], "effective_on": on}
                track.in_force_since = None
                track.deposited_on = None
                track.joining_token += 1
                self.set_status(track, "withdrawn", on, detail)
                if track.suspension and track.suspension.until is None:
                    track.suspension.until = on
                self.check_minimum(on, cause)

    def referenced(self, event: Effective, name: str, kind: str, ref: str | None = None) -> Effective:
        ref = str(event.fields[name]) if ref is None else ref
        target = self.by_id.get(ref)
        if target is None:
            raise self.fail(name, f"no {kind} event with id {ref} in this treaty's history")
        if target.type != kind:
            raise self.fail(name, f"event {ref} is a {target.type} event, not a {kind} event")
        if target.date > event.date:
            raise self.fail(name, f"event {ref} is dated {target.date}, after this event's date {event.date}")
        return target

    # -- the fold ----------------------------------------------------------------------------

    def run(self) -> Timeline:
        for event in self.events:
            self.current = event
            if self.pending:
                self.advance(event.date)
            if event.type in _PARTICIPATION:
                self.check_not_terminated(event)
            handler = _HANDLERS.get(event.type)
            if handler is not None:
                handler(self, event)
        self.current = None
        self.advance(None)
        return self.timeline

    def check_not_terminated(self, event: Effective) -> None:
        if self.terminated_on is not None and event.type not in ("statement",):
            raise self.fail("date", f"the treaty terminated on {self.terminated_on}; no {event.type} can follow")

    def note(self, track: _Track, event: Effective) -> None:
        track.events.append(event.id)
        track.events.extend(event.corrections)

    def on_adopted(self, event: Effective) -> None:
        if self.adopted_on is not None:
            raise self.fail("type", f"the treaty was already adopted on {self.adopted_on}")
        self.adopted_on = event.date

    def on_signed(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status == "signatory":
            raise self.fail("state", f"{track.state} already signed on {track.signed_on}")
        if track.status in BOUND:
            raise self.fail("state", f"{track.state} is already bound (instrument deposited on {track.deposited_on}); it cannot sign again")
        self.note(track, event)
        track.signed_on = event.date
        self.set_status(track, "signatory", event.date)

    def on_ratified(self, event: Effective) -> None:
        self.deposit(event, "ratify")

    def on_acceded(self, event: Effective) -> None:
        self.deposit(event, "accede")

    def deposit(self, event: Effective, verb: str) -> None:
        track = self.track(str(event.state))
        if track.status in BOUND:
            raise self.fail(
                "state",
                f"{track.state} already deposited an instrument on {track.deposited_on} and is {track.status}; it cannot {verb} again",
            )
        self.note(track, event)
        track.deposited_on = event.date
        self.join(track, event.date, event.id)

    def join(self, track: _Track, on: date, cause: str, joining_on: date | None = None) -> None:
        """Bind ``track`` from ``on``: a party now if the treaty is in force, later if a delay applies."""
        track.joining_token += 1
        if self.in_force_on is None:
            track.in_force_since = None
            self.set_status(track, "contracting", on)
            return
        starts = joining_on
        if starts is None:
            starts = self.rules.late_joiner_delay.after(on) if self.rules.late_joiner_delay else on
        if starts <= on:
            track.in_force_since = on
            self.set_status(track, "party", on)
            return
        track.in_force_since = None
        track.joining_on = starts
        self.set_status(track, "contracting", on, {"party_from": starts})
        self.schedule(starts, "joins", track.state, track.joining_token, cause)

    def on_succeeded(self, event: Effective) -> None:
        predecessor = self.track(str(event.fields["predecessor"]))
        successor = self.track(str(event.state))
        if successor.status in BOUND:
            raise self.fail("state", f"{successor.state} is already bound (instrument deposited on {successor.deposited_on})")
        if predecessor.status != "none":
            standing: tuple[str, date | None, date | None, date | None] = (
                predecessor.status,
                predecessor.signed_on,
                predecessor.deposited_on,
                predecessor.joining_on if predecessor.status == "contracting" else None,
            )
        elif predecessor.dissolved is not None and predecessor.dissolved[0] <= event.date:
            standing = predecessor.dissolved[1:]
        else:
            raise self.fail("predecessor", f"{predecessor.state} had no standing under the treaty on {event.date}")
        status, signed_on, _deposited_on, joining_on = standing
        if status in ("withdrawn", "terminated"):
            raise self.fail("predecessor", f"{predecessor.state} had {status} by {event.date}: there is no standing to succeed to")
        self.note(successor, event)
        successor.signed_on = signed_on
        successor.predecessor = predecessor.state
        if status == "signatory":
            self.set_status(successor, "signatory", event.date)
        else:
            successor.deposited_on = event.date
            self.join(successor, event.date, event.id, joining_on=joining_on or event.date)
        if is_historic(predecessor.state) and predecessor.status != "none":
            predecessor.dissolved = (event.date, *standing)
            self.note(predecessor, event)
            predecessor.joining_token += 1
            predecessor.withdrawal_token += 1
            predecessor.in_force_since = None
            self.set_status(predecessor, "none", event.date, {"succeeded_by": [successor.state]})
        elif is_historic(predecessor.state):
            self.note(predecessor, event)
            segment = self.timeline.segments[predecessor.state][-1]
            segment.detail.setdefault("succeeded_by", []).append(successor.state)
            segment.events = tuple(predecessor.events)

    def on_entered_into_force(self, event: Effective) -> None:
        if self.in_force_on is not None:
            raise self.fail("type", f"the treaty already entered into force on {self.in_force_on}")
        self.in_force_on = event.date
        self.set_phase("in_force", event.date, event.event_ids)
        for track in self.tracks.values():
            if track.status == "contracting":
                self.note(track, event)
                track.in_force_since = event.date
                track.joining_token += 1
                self.set_status(track, "party", event.date)
            elif track.status == "withdrawing" and track.in_force_since is None:
                self.note(track, event)
                track.in_force_since = event.date
                self.set_status(track, "withdrawing", event.date, track.detail)
        self.check_minimum(event.date, event.id)

    def on_withdrawal_announced(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status not in ("signatory", *BOUND):
            raise self.fail("state", f"{track.state} is not a signatory or party on {event.date} (status: {track.status})")
        self.note(track, event)
        self.timeline.segments[track.state][-1].events = tuple(track.events)

    def on_withdrawal_notified(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status == "withdrawing":
            raise self.fail(
                "state",
                f"{track.state} already gave notice on {track.detail['notified_on']}, effective {track.detail['effective_on']}",
            )
        if track.status == "withdrawn":
            raise self.fail("state", f"{track.state} already withdrew on {track.detail['effective_on']} and has not joined again")
        if track.status not in BOUND:
            raise self.fail("state", f"{track.state} never joined this treaty: it has deposited no instrument by {event.date}")
        earliest_rule = self.rules.earliest_withdrawal_notice
        if earliest_rule is not None:
            if track.in_force_since is None:
                raise self.fail("date", f"the treaty is not yet in force for {track.state}, so it cannot give notice under the earliest-notice rule ({earliest_rule})")
            earliest = earliest_rule.after(track.in_force_since)
            if event.date < earliest:
                raise self.fail(
                    "date",
                    f"notice may be given from {earliest} ({earliest_rule} after the treaty entered into force for {track.state} on {track.in_force_since})",
                )
        takes_effect = self.rules.withdrawal_notice.after(event.date) if self.rules.withdrawal_notice else event.date
        named = event.fields.get("effective_on")
        if isinstance(named, date):
            if named < takes_effect:
                raise self.fail("effective_on", f"{named} is before the notice period ends on {takes_effect}")
            takes_effect = named
        self.note(track, event)
        track.withdrawal_token += 1
        self.set_status(track, "withdrawing", event.date, {"notified_on": event.date, "effective_on": takes_effect})
        self.schedule(takes_effect, "withdraws", track.state, track.withdrawal_token, event.id)
        if takes_effect <= event.date:
            self.advance(event.date)

    def on_withdrawal_rescinded(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status == "withdrawn":
            raise self.fail("state", f"{track.state}'s withdrawal already took effect on {track.detail['effective_on']}; it can no longer be rescinded")
        if track.status != "withdrawing":
            raise self.fail("state", f"{track.state} has no withdrawal notice pending on {event.date}")
        self.note(track, event)
        track.withdrawal_token += 1
        self.set_status(track, "party" if track.in_force_since else "contracting", event.date)

    def on_implementation_suspended(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.status not in ("party", "withdrawing"):
            raise self.fail("state", f"{track.state} is not a party on {event.date} (status: {track.status}); it has nothing to suspend")
        if track.suspension is not None and track.suspension.until is None:
            raise self.fail("state", f"{track.state} already suspended implementation on {track.suspension.since}")
        self.note(track, event)
        track.suspension = Suspension(event.id, track.state, list(event.fields.get("towards", [])), event.date, None, list(event.event_ids))
        self.timeline.suspensions.append(track.suspension)

    def on_implementation_resumed(self, event: Effective) -> None:
        track = self.track(str(event.state))
        if track.suspension is None or track.suspension.until is not None:
            raise self.fail("state", f"{track.state} has no suspension of implementation in force on {event.date}")
        self.note(track, event)
        track.suspension.until = event.date
        track.suspension.events.extend(event.event_ids)

    def on_terminated(self, event: Effective) -> None:
        self.terminate(event.date, event.event_ids, derived=False)

    # -- compliance ----------------------------------------------------------------------------

    def on_restriction_imposed(self, event: Effective) -> None:
        f = event.fields
        self.timeline.restrictions[event.id] = Restriction(
            event.id, f["state"], f["area"], f["kind"], f["detail"], list(f.get("towards", [])), event.date, None,
            list(event.event_ids), f.get("claimed_by"),
        )

    def on_restriction_lifted(self, event: Effective) -> None:
        target = self.referenced(event, "restriction", "restriction_imposed")
        restriction = self.timeline.restrictions[target.id]
        if restriction.until is not None:
            raise self.fail("restriction", f"the restriction {target.id} was already lifted on {restriction.until}")
        if event.state != restriction.state:
            raise self.fail("state", f"the restriction {target.id} was imposed by {restriction.state}, not {event.state}")
        restriction.until = event.date
        restriction.events.extend(event.event_ids)

    def on_allegation_made(self, event: Effective) -> None:
        f = event.fields
        for i, ref in enumerate(f.get("restrictions", [])):
            self.referenced(event, f"restrictions[{i}]", "restriction_imposed", ref)
        self.timeline.allegations[event.id] = Allegation(
            event.id, f["accuser"], f["accused"], f["subject"], list(f.get("restrictions", [])), event.date, [], list(event.event_ids)
        )

    def respond(self, event: Effective, text_field: str) -> None:
        target = self.referenced(event, "allegation", "allegation_made")
        allegation = self.timeline.allegations[target.id]
        if allegation.standing_on(event.date) == "resolved":
            raise self.fail("allegation", f"the allegation {target.id} was already resolved")
        if event.type == "allegation_rejected" and event.state != allegation.accused:
            raise self.fail("state", f"only the accused state ({allegation.accused}) can reject the allegation {target.id}")
        allegation.responses.append({"date": event.date, "type": event.type, "id": event.id, "state": event.state, "text": event.fields[text_field]})
        allegation.events.extend(event.event_ids)

    def on_allegation_rejected(self, event: Effective) -> None:
        self.respond(event, "reasons")

    def on_allegation_resolved(self, event: Effective) -> None:
        self.respond(event, "resolution")

    def on_flight_denied(self, event: Effective) -> None:
        f = event.fields
        self.timeline.flights[event.id] = Flight(
            event.id, f["state"], list(f["observers"]), f["reason"], event.date, [], [], list(event.event_ids), f.get("claimed_by")
        )

    def on_alternative_timeframe_offered(self, event: Effective) -> None:
        target = self.referenced(event, "flight", "flight_denied")
        flight = self.timeline.flights[target.id]
        if event.state != flight.host:
            raise self.fail("state", f"only the host state ({flight.host}) can offer another timeframe for flight {target.id}")
        flight.offers.append({"id": event.id, "date": event.date, "timeframe": event.fields.get("timeframe")})
        flight.events.extend(event.event_ids)

    def on_alternative_timeframe_refused(self, event: Effective) -> None:
        target = self.referenced(event, "flight", "flight_denied")
        flight = self.timeline.flights[target.id]
        if not any(offer["date"] <= event.date for offer in flight.offers):
            raise self.fail("flight", f"no alternative timeframe was offered for flight {target.id} by {event.date}")
        outsiders = sorted(set(event.fields["observers"]) - set(flight.observers))
        if outsiders:
            raise self.fail("observers", f"{', '.join(outsiders)} did not request flight {target.id}")
        flight.refusals.append({"id": event.id, "date": event.date, "observers": list(event.fields["observers"]), "reason": event.fields.get("reason")})
        flight.events.extend(event.event_ids)


_HANDLERS = {name: getattr(_Fold, f"on_{name}") for name in EVENT_TYPES if hasattr(_Fold, f"on_{name}")}
"""Each event type's handler in the fold (looked up once, not per event)."""
_PARTICIPATION = frozenset(name for name, spec in EVENT_TYPES.items() if spec.category == "participation")


def build_timeline(rules: TreatyRules, events: list[Effective]) -> Timeline:
    """Fold effective events (in effective-date order) into the treaty's timeline.

    Raises :class:`~treaty_ledger.domain.errors.TimelineContradiction` for the first act that contradicts
    it; the error's ``event_id`` names that event.
    """
    return _Fold(rules, events).run()
