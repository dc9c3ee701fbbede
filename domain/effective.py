"""Effective events: a treaty's recorded events as its corrections and retractions leave them.

:func:`effective_events` applies corrections and retractions (as known at a moment) and puts
the events in effective-date order, ready for the fold (:func:`~treaty_ledger.domain.fold.build_timeline`);
:func:`apply_changes` applies one correction's changes, checked as new input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from treaty_ledger.domain.dates import parse_date
from treaty_ledger.domain.errors import InvalidInput, LedgerError
from treaty_ledger.domain.events import EVENT_TYPES, LEDGER_FIELDS, normalise_fields
from treaty_ledger.domain.records import Record

__all__ = ["Effective", "apply_changes", "effective_events"]

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
