"""The treaty aggregate: a treaty, its rules and its immutable, hash-chained history."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.domain import Snapshot as LibrarySnapshot
from eventsourcing.utils import register_topic

from treaty_ledger.domain.effective import apply_changes, effective_events
from treaty_ledger.domain.errors import InvalidDate, InvalidInput, SnapshotRejected, TimelineContradiction
from treaty_ledger.domain.events import NewEvent
from treaty_ledger.domain.fold import build_timeline
from treaty_ledger.domain.records import GENESIS_HASH, Record, canonical_json_fast, chain_hash, record_body, to_json_value
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.running_fold import RunningFold
from treaty_ledger.domain.shared_list import RecordLog
from treaty_ledger.domain.timeline import Timeline

__all__ = ["Treaty", "treaty_uuid"]

_NAMESPACE = uuid5(NAMESPACE_URL, "https://treaty-ledger.org/treaties/")


def treaty_uuid(treaty_id: str) -> UUID:
    """The aggregate id of the treaty with slug ``treaty_id`` (stable, derived from the slug)."""
    return uuid5(_NAMESPACE, treaty_id)


class Treaty(Aggregate):
    """A treaty: id, title, depositaries, rules, source, and the events recorded about it.

    The registration starts the hash chain; every recorded event carries its ``sequence``
    (its place in the history, from 1), the previous event's hash and its own.

    The treaty keeps its timeline folded (a :class:`~treaty_ledger.domain.running_fold.RunningFold`,
    made the first time it is needed), so that checking an event costs the same whatever the
    history's length. The fold is derived from the records alone: snapshots leave it out
    (:class:`Treaty.Snapshot`), so that a snapshot never carries a fold made by older code,
    and a treaty read back from one folds again once.
    """

    class Snapshot(LibrarySnapshot):
        """eventsourcing's snapshot of a treaty, without the fold (which is derived from the records)."""

        @classmethod
        def take(cls, aggregate: Any) -> Self:
            """Snapshot the treaty's state: its records as a list, and not its fold."""
            snapshot = super().take(aggregate)
            snapshot.state.pop("_fold", None)
            snapshot.state["records"] = list(snapshot.state["records"])
            return snapshot

        def mutate(self, _: None) -> Treaty:
            """The treaty the snapshot holds, once its records are checked: :class:`SnapshotRejected` when they do not hash to their chain.

            Every record's hash is recomputed from its content and linked to the one before, from
            the registration's to the snapshot's head: a snapshot edited in the store (its
            triggers dropped) cannot change what the treaty holds. That the head is the stored
            events' own is checked where the store is at hand (:class:`~treaty_ledger.domain.ledger.Ledger`).
            """
            treaty = super().mutate(None)
            if not isinstance(treaty, Treaty):  # pragma: no cover - wiring error
                raise TypeError(type(treaty).__name__)
            previous = treaty.registration_hash
            for sequence, record in enumerate(treaty.records, start=1):
                if record.sequence != sequence or record.prev_hash != previous or record.computed_hash() != record.hash:
                    raise SnapshotRejected(f"the snapshot of {treaty.slug} at version {self.originator_version} does not hold "
                                           f"the chain of its events (entry {sequence} does not match)", field="snapshot")
                previous = record.hash
            if previous != treaty.head or treaty.version != len(treaty.records) + 1:
                raise SnapshotRejected(f"the snapshot of {treaty.slug} at version {self.originator_version} names a head "
                                       "its records do not end at", field="snapshot")
            return treaty

    class Registered(Aggregate.Created):
        """A treaty was registered."""

        slug: str
        title: str
        depositaries: list[str]
        rules: dict[str, Any]
        source: dict[str, Any]
        hash: str

        def entry(self) -> dict[str, Any]:
            """The registration as the ledger's Merkle tree takes it (:func:`registration_entry`)."""
            return registration_entry(registration_content(self.slug, self.title, self.depositaries, self.rules, self.source, self.timestamp),
                                      self.hash)

    class EventRecorded(Aggregate.Event):
        """An event about the treaty was recorded."""

        event_id: str
        event_type: str
        date: date | None
        fields: dict[str, Any]
        source: dict[str, Any]
        sequence: int
        prev_hash: str
        hash: str

        def to_record(self, treaty: str) -> Record:
            """The recorded event this aggregate event carries, in treaty ``treaty``."""
            return Record(
                id=self.event_id,
                treaty=treaty,
                sequence=self.sequence,
                type=self.event_type,
                date=self.date,
                fields=self.fields,
                source=self.source,
                recorded_at=self.timestamp,
                prev_hash=self.prev_hash,
                hash=self.hash,
            )

        def canonical(self, treaty: str) -> bytes:
            """``self.to_record(treaty).canonical()`` without making the record: the Merkle tree's leaf data (one per write)."""
            return canonical_json_fast(record_body(self.event_id, treaty, self.sequence, self.event_type, self.date, self.fields, self.source,
                                                   self.timestamp, self.prev_hash, self.hash, formatted=True))

        def apply(self, aggregate: Aggregate) -> None:
            """Append the recorded event to the treaty's history."""
            treaty = aggregate
            if not isinstance(treaty, Treaty):  # pragma: no cover - wiring error
                raise TypeError(type(treaty).__name__)
            if self.prev_hash != treaty.head:
                raise SnapshotRejected(f"event {self.sequence} of {treaty.slug} does not follow the head it was read after: "
                                       "a snapshot or a stored event was altered", field="snapshot")
            treaty.log().append(self.to_record(treaty.slug))  # the fold notes it when next needed (Treaty._running)
            treaty.head = self.hash

    @staticmethod
    def create_id(slug: str) -> UUID:
        """The aggregate id is derived from the treaty's slug."""
        return treaty_uuid(slug)

    def __init__(self, slug: str, title: str, depositaries: list[str], rules: dict[str, Any], source: dict[str, Any], hash: str) -> None:  # noqa: A002
        self.slug = slug
        self.title = title
        self.depositaries = depositaries
        self.rules_json = rules
        self.source = source
        self.registration_hash = hash
        self.head = hash
        self.records: Sequence[Record] = RecordLog()

    @classmethod
    def register(cls, *, slug: str, title: str, depositaries: list[str], rules: TreatyRules, source: dict[str, Any], registered_at: datetime) -> Treaty:
        """Register a treaty; its registration is the first link of its hash chain."""
        rules_json = rules.to_json()
        content = registration_content(slug, title, depositaries, rules_json, source, registered_at)
        return cls._create(
            cls.Registered,
            id=treaty_uuid(slug),
            timestamp=registered_at,
            slug=slug,
            title=title,
            depositaries=depositaries,
            rules=rules_json,
            source=source,
            hash=chain_hash(content, GENESIS_HASH),
        )

    def registration_entry(self) -> dict[str, Any]:
        """The treaty's registration as the ledger's Merkle tree takes it (:func:`registration_entry`)."""
        content = registration_content(self.slug, self.title, self.depositaries, self.rules_json, self.source, self.registered_at)
        return registration_entry(content, self.registration_hash)

    @property
    def rules(self) -> TreatyRules:
        """The treaty's rules as typed values."""
        return TreatyRules.from_input(self.rules_json)

    @property
    def registered_at(self) -> datetime:
        """When the treaty was registered."""
        return self.created_on

    def __deepcopy__(self, memo: dict[int, Any]) -> Treaty:
        """A copy to record on (eventsourcing copies a cached aggregate for each command).

        The history is shared (:class:`~treaty_ledger.domain.shared_list.RecordLog`) and the
        fold copied on write (:meth:`~treaty_ledger.domain.running_fold.RunningFold.copy`):
        the copy costs the same whatever the history's length.
        """
        other = object.__new__(type(self))
        state = dict(self.__dict__)
        for name in ("depositaries", "rules_json", "source"):
            state[name] = copy.deepcopy(state[name], memo)
        log = state["records"] = self.log().copy()
        state["_pending_events"] = list(state.get("_pending_events", ()))
        fold: RunningFold | None = state.get("_fold")
        if fold is not None:
            state["_fold"] = fold.copy(log.find)
        other.__dict__.update(state)
        return other

    def log(self) -> RecordLog:
        """The recorded events (:attr:`records`) as a log (a treaty read from an older snapshot holds a list)."""
        records = self.records
        if not isinstance(records, RecordLog):
            records = self.records = RecordLog(records)
        return records

    def _running(self) -> RunningFold:
        """The treaty's fold, with every record noted (made the first time it is needed)."""
        log = self.log()
        fold: RunningFold | None = self.__dict__.get("_fold")
        if fold is None or fold.sequence > len(log):
            fold = self._fold = RunningFold(self.rules, log.find)
        if fold.sequence < len(log):
            for record in log[fold.sequence:]:
                fold.note(record)
        return fold

    def find(self, event_id: str) -> Record | None:
        """The recorded event with ``event_id``, if this treaty has it."""
        return self.log().find(event_id)

    def timeline(self, known_at: datetime | None = None) -> Timeline:
        """The treaty's timeline, as known at ``known_at`` (everything known when ``None``).

        Share it, do not change it: the whole history's timeline is the fold's own.
        """
        if known_at is None:
            return self._running().timeline()
        return build_timeline(self.rules, effective_events(self.records, known_at))

    def record(self, new: NewEvent, *, event_id: str, recorded_at: datetime, check_timeline: bool = True) -> Record:
        """Check ``new`` against the treaty's timeline and record it.

        Raises :class:`~treaty_ledger.domain.errors.InvalidInput` (an
        :class:`~treaty_ledger.domain.errors.InvalidDate` for an effective date after the UTC day
        of ``recorded_at``) or :class:`~treaty_ledger.domain.errors.TimelineContradiction`; on
        error nothing changes. The check folds the event onto the kept timeline: an event dated
        on or after the latest effective date costs the same whatever the history's length;
        an earlier one refolds from the fold's checkpoint before its date. With
        ``check_timeline=False`` the caller checks the timeline once after a batch
        (:meth:`check_timeline`) and discards the aggregate if it fails.
        """
        fold = self._running()
        log = self.log()
        if log.find(event_id) is not None:
            raise InvalidInput(f"an event with id {event_id} is already recorded", field="id")
        size = len(log)
        if size:
            last_at = log[size - 1].recorded_at
            if recorded_at <= last_at:
                recorded_at = last_at + timedelta(microseconds=1)
        _check_not_ahead(new.date, recorded_at, field="date")
        self._check_maintenance(new, recorded_at, fold)
        candidate = Record(
            id=event_id,
            treaty=self.slug,
            sequence=size + 1,
            type=new.type,
            date=new.date,
            fields=new.fields,
            source=new.source,
            recorded_at=recorded_at,
            prev_hash=self.head,
        )
        fold.note(candidate)
        if check_timeline:
            self._check_timeline(fold, candidate)
        record_hash = candidate.computed_hash()
        self.trigger_event(
            self.EventRecorded,
            timestamp=recorded_at,
            event_id=event_id,
            event_type=new.type,
            date=new.date,
            fields=dict(new.fields),
            source=dict(new.source),
            sequence=candidate.sequence,
            prev_hash=self.head,
            hash=record_hash,
        )
        return log[size]

    def _check_maintenance(self, new: NewEvent, recorded_at: datetime, fold: RunningFold) -> None:
        if new.type not in ("correction", "retraction"):
            return
        name = "corrects" if new.type == "correction" else "retracts"
        target_id = str(new.fields[name])
        target = self.find(target_id)
        if target is None:
            raise TimelineContradiction(f"no event with id {target_id} in the history of {self.slug}", field=name)
        if target.type in ("correction", "retraction"):
            raise TimelineContradiction(f"event {target_id} is a {target.type}; name the original event instead", field=name)
        retraction = fold.retraction_of(target_id)
        if retraction is not None:
            raise TimelineContradiction(f"event {target_id} was already retracted by {retraction}", field=name)
        current = fold.effective(target_id)
        if new.type == "correction" and current is not None:
            corrected_date, _ = apply_changes(current.type, current.date, current.fields, new.fields["changes"])
            if "date" in new.fields["changes"]:
                _check_not_ahead(corrected_date, recorded_at, field="changes.date")

    def check_timeline(self) -> None:
        """Fold what was recorded since the last check; raises the first contradiction, naming its event."""
        self._running().settle()

    def _check_timeline(self, fold: RunningFold, candidate: Record) -> None:
        try:
            fold.settle()
        except TimelineContradiction as error:
            culprit = getattr(error, "event_id", None)
            if culprit in (candidate.id, candidate.fields.get("corrects")):
                raise
            other = self.find(str(culprit))
            what = f"the recorded {other.type} event {other.id} of {other.date}" if other else f"event {culprit}"
            raise TimelineContradiction(f"this event would contradict {what}: {error.reason}", field=error.field) from None


def _check_not_ahead(day: date | None, recorded_at: datetime, *, field: str) -> None:
    """An event's effective date may not lie after the UTC day it is recorded on.

    The ledger records acts that have happened; a withdrawal notice that takes effect later
    says so in its ``effective_on``, which this does not check.
    """
    today = recorded_at.astimezone(UTC).date()
    if day is not None and day > today:
        raise InvalidDate(f"{day} is after {today}, the day (UTC) it is recorded on: an act is recorded once it has happened", field=field)


def registration_content(slug: str, title: str, depositaries: list[str], rules: dict[str, Any], source: dict[str, Any], registered_at: datetime) -> dict[str, Any]:
    """Everything the hash of a treaty's registration covers."""
    return {
        "treaty": slug,
        "type": "registered",
        "title": title,
        "depositaries": depositaries,
        "rules": rules,
        "source": source,
        "recorded_at": registered_at,
    }


def registration_entry(content: dict[str, Any], hash: str) -> dict[str, Any]:  # noqa: A002
    """A registration as a leaf of the ledger's Merkle tree holds it (as JSON values): what its hash
    covers (``content``), its place in the chain (sequence 0, the genesis hash before it) and its hash."""
    return to_json_value({**content, "sequence": 0, "prev_hash": GENESIS_HASH, "hash": hash})  # type: ignore[no-any-return]


# Stores written before the package was named ``treaty_ledger`` name the aggregate and its events
# by their old module (``domain.treaty:Treaty.Registered``): those topics resolve here too.
register_topic("domain.treaty:Treaty", Treaty)
