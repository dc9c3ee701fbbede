"""Effective events: a treaty's recorded events as its corrections and retractions leave them.

:func:`effective_events` applies corrections and retractions (as known at a moment) and puts
the events in effective-date order, ready for the fold (:func:`~treaty_ledger.domain.fold.build_timeline`);
:func:`apply_changes` applies one correction's changes, checked as new input;
:class:`EffectiveEvents` keeps them up to date one recorded event at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from treaty_ledger.domain.dates import parse_date
from treaty_ledger.domain.errors import InvalidInput, LedgerError
from treaty_ledger.domain.events import EVENT_TYPES, LEDGER_FIELDS, normalise_fields
from treaty_ledger.domain.records import Record

__all__ = ["Change", "Effective", "EffectiveEvents", "apply_changes", "effective_events", "order_key"]

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


def order_key(event: Effective) -> tuple[date, int, int]:
    """Where an event stands in the fold: by date, then same-day precedence, then recorded order."""
    return (event.date, _PRIORITY.get(event.type, 5), event.sequence)


class Change(NamedTuple):
    """What one recorded event changes among the effective events: the one that leaves them, the one that enters.

    ``replaced`` is what :attr:`EffectiveEvents.corrected` held for a correction's target before
    (for :meth:`EffectiveEvents.undo`).
    """

    left: Effective | None
    entered: Effective | None
    replaced: Effective | None = None


class EffectiveEvents:
    """A treaty's effective events, kept up to date one recorded event at a time.

    Reads the original events from the records (``find``, by id) and holds what changed them:
    each corrected event as its corrections leave it, and each retracted id with its
    retraction. :func:`effective_events` is this, applied to a whole history.
    """

    def __init__(self, find: Callable[[str], Record | None]) -> None:
        self.find = find
        self.corrected: dict[str, Effective] = {}
        """Each corrected event, with every correction so far applied."""
        self.retracted: dict[str, str] = {}
        """The id of each retracted event, to the id of the retraction."""

    def copy(self, find: Callable[[str], Record | None]) -> EffectiveEvents:
        """A copy that changes independently of this one, reading the records through ``find``."""
        other = EffectiveEvents(find)
        other.corrected = dict(self.corrected)
        other.retracted = dict(self.retracted)
        return other

    def original(self, event_id: str) -> Effective | None:
        """The event with ``event_id`` as corrected so far, retracted or not (``None``: no such dated event)."""
        corrected = self.corrected.get(event_id)
        if corrected is not None:
            return corrected
        record = self.find(event_id)
        if record is None or record.date is None or record.type in ("correction", "retraction"):
            return None
        return Effective(record.id, record.type, record.date, record.fields, record.sequence, record.recorded_at)

    def get(self, event_id: str) -> Effective | None:
        """The effective event with ``event_id`` (``None``: unknown, or retracted)."""
        if event_id in self.retracted:
            return None
        return self.original(event_id)

    def add(self, record: Record) -> Change:
        """Apply the next recorded event (in recorded order); return what it changes.

        A correction replaces its target with the corrected event (its changes on top of the
        earlier corrections'); a retraction takes its target out; an undated event other than
        these changes nothing. The records it refers to must be found by ``find``; ``record``
        itself need not be yet.
        """
        if record.type == "retraction":
            target_id = str(record.fields["retracts"])
            left = self.get(target_id)
            self.retracted.setdefault(target_id, record.id)
            return Change(left, None)
        if record.type == "correction":
            replaced = self.corrected.get(str(record.fields["corrects"]))
            target = self.original(str(record.fields["corrects"]))
            if target is None:
                return Change(None, None)
            new_date, new_fields = apply_changes(target.type, target.date, target.fields, record.fields["changes"])
            corrected = Effective(
                id=target.id,
                type=target.type,
                date=new_date or target.date,
                fields=new_fields,
                sequence=target.sequence,
                recorded_at=target.recorded_at,
                corrections=(*target.corrections, record.id),
            )
            self.corrected[target.id] = corrected
            return Change(None, None, replaced) if target.id in self.retracted else Change(target, corrected, replaced)
        if record.date is None:
            return Change(None, None)
        event = Effective(record.id, record.type, record.date, record.fields, record.sequence, record.recorded_at)
        return Change(None, None if record.id in self.retracted else event)

    def undo(self, record: Record, change: Change) -> None:
        """Take back :meth:`add` of ``record``, which made ``change``."""
        if record.type == "retraction":
            target_id = str(record.fields["retracts"])
            if self.retracted.get(target_id) == record.id:
                del self.retracted[target_id]
        elif record.type == "correction":
            target_id = str(record.fields["corrects"])
            if change.replaced is None:
                self.corrected.pop(target_id, None)
            else:
                self.corrected[target_id] = change.replaced


def effective_events(records: Iterable[Record], known_at: datetime | None = None) -> list[Effective]:
    """The events in force as known at ``known_at`` (all when ``None``), corrected, in effective-date order.

    Corrections and retractions count from their recorded time; each correction's changes
    apply on top of the earlier ones.
    """
    known = [r for r in sorted(records, key=lambda r: r.sequence) if known_at is None or r.recorded_at <= known_at]
    effective = EffectiveEvents({record.id: record for record in known}.get)
    for record in known:
        effective.add(record)
    events = (effective.get(record.id) for record in known)  # None for corrections, retractions, what is retracted
    return sorted((event for event in events if event is not None), key=order_key)
