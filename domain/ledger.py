"""The ledger application: the front door for the use cases.

Commands register treaties and record events; queries return treaties, their histories and
the verification of their hash chains. Library errors become the ledger's own.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProjectorFunction, Repository
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoder
from eventsourcing.utils import get_topic, strtobool

from treaty_ledger.domain.dates import utc_now
from treaty_ledger.domain.errors import (
    InvalidInput,
    LedgerError,
    SnapshotRejected,
    TreatyAlreadyExists,
    TreatyNotFound,
    WriteConflict,
)
from treaty_ledger.domain.events import NewEvent, normalise_event
from treaty_ledger.domain.records import GENESIS_HASH, Record, chain_hash, to_json_value
from treaty_ledger.domain.registration import normalise_registration, normalise_treaty_id
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.transcodings import DateAsISO, LedgerTranscoder, RecordAsDict
from treaty_ledger.domain.treaty import Treaty, registration_content, treaty_uuid

__all__ = ["Ledger", "TreatySummary", "VerifyReport", "record_batch"]

T = TypeVar("T")

@dataclass(frozen=True, slots=True)
class TreatySummary:
    """A registered treaty, without its history."""

    id: str
    title: str
    depositaries: list[str]
    rules: TreatyRules
    source: dict[str, Any]
    registered_at: datetime
    events: int
    head: str

    def to_json(self) -> dict[str, Any]:
        """The treaty as the API answers it."""
        return {
            "id": self.id,
            "title": self.title,
            "depositaries": self.depositaries,
            "rules": self.rules.to_json(),
            "source": to_json_value(self.source),
            "registered_at": to_json_value(self.registered_at),
            "events": self.events,
            "head": self.head,
        }


@dataclass(slots=True)
class VerifyReport:
    """The outcome of recomputing hash chains: ``ok``, how many entries were checked, the head."""

    ok: bool = True
    events_checked: int = 0
    head: str | None = None
    first_bad: dict[str, Any] | None = None
    treaties: dict[str, str] = field(default_factory=dict)

    def fail(self, **where: Any) -> None:
        """Record the first entry whose hash or place does not match."""
        if self.ok:
            self.ok = False
            self.first_bad = where

    def to_json(self) -> dict[str, Any]:
        """The report as the API answers it (``first_bad_event`` is ``None`` when every chain holds)."""
        return {"ok": self.ok, "events_checked": self.events_checked, "head": self.head, "first_bad_event": self.first_bad}


_log = logging.getLogger(__name__)


class TreatyRepository(Repository[UUID]):
    """eventsourcing's repository, which sets aside a snapshot that disagrees with the stored events.

    A snapshot is checked as it is read (:meth:`Treaty.Snapshot.mutate`: its records hash to
    their chain), and the treaty it gives must end at the stored events' last hash. When either
    fails, the snapshot is ignored (a warning is logged) and the treaty is folded from its events
    alone: a snapshot edited in the store never changes what the ledger holds or answers.
    """

    def _reconstruct_aggregate(self, aggregate_id: UUID, version: int | None, projector_func: ProjectorFunction[Any, Any]) -> Any:
        try:
            aggregate = super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        except SnapshotRejected as rejected:
            _log.warning("snapshot set aside: %s", rejected.reason)
            return self._from_events(aggregate_id, version, projector_func)
        if isinstance(aggregate, Treaty) and self.snapshot_store is not None:
            last = list(self.event_store.get(originator_id=aggregate_id, desc=True, limit=1, lte=version))
            if last and getattr(last[0], "hash", None) != aggregate.head:
                _log.warning("snapshot set aside: the snapshot of %s ends at a head that is not its last stored event's", aggregate.slug)
                return self._from_events(aggregate_id, version, projector_func)
        return aggregate

    def _from_events(self, aggregate_id: UUID, version: int | None, projector_func: ProjectorFunction[Any, Any]) -> Any:
        aggregate = projector_func(None, self.event_store.get(originator_id=aggregate_id, lte=version))
        if aggregate is None:  # pragma: no cover - a snapshot exists only for a stored aggregate
            raise AggregateNotFoundError(aggregate_id)
        return aggregate


class Ledger(Application[UUID]):
    """Treaties and their events in an immutable, tamper-evident event store.

    The store is chosen by eventsourcing's environment settings (``PERSISTENCE_MODULE``,
    ``SQLITE_DBNAME``, ``POSTGRES_*``), passed in as ``env``.
    """

    name = "TreatyLedger"
    is_snapshotting_enabled = True
    snapshot_every = 200
    """A treaty is snapshotted when a save takes its history past a multiple of this many entries.

    Not eventsourcing's ``snapshotting_intervals``, which takes one snapshot per multiple crossed,
    each of the aggregate read back from the store: a 10,000-event import took 50, costing
    the square of its length. Here a save takes at most one, of the treaty it saved
    (:meth:`_snapshot`), through the library's snapshot store and the treaty's snapshot class.
    """
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "256"}
    max_write_seconds = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writing: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._writing_guard = threading.Lock()

    def construct_repository(self) -> Repository[UUID]:
        """eventsourcing's repository, as the library builds it, checking snapshots (:class:`TreatyRepository`)."""
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return TreatyRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(maxsize) if maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def construct_transcoder(self) -> Transcoder:
        """The library's JSON transcoder, as :class:`LedgerTranscoder` writes and reads it (unless ``TRANSCODER_TOPIC`` names another)."""
        if self.factory.env.get(self.factory.TRANSCODER_TOPIC):
            return super().construct_transcoder()
        transcoder = LedgerTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Register the library's transcodings and the ledger's own (dates, records)."""
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(RecordAsDict())

    # -- commands ----------------------------------------------------------------------------

    def register_treaty(self, payload: Any) -> TreatySummary:
        """Register a treaty from ``{"id", "title", "depositaries", "rules", "source"}``."""
        registration = normalise_registration(payload)
        slug = registration.id
        if treaty_uuid(slug) in self.repository:
            raise TreatyAlreadyExists(f"a treaty with id {slug!r} is already registered", field="id")
        treaty = Treaty.register(
            slug=slug, title=registration.title, depositaries=registration.depositaries, rules=registration.rules,
            source=registration.source, registered_at=utc_now(),
        )
        try:
            self.save(treaty)
        except IntegrityError:
            raise TreatyAlreadyExists(f"a treaty with id {slug!r} is already registered", field="id") from None
        return self._summary(treaty)

    def record_event(self, treaty_id: str, payload: Mapping[str, Any] | NewEvent, *, event_id: str | None = None) -> Record:
        """Check an event against the treaty's timeline and record it; return the recorded event.

        A writer that loses eventsourcing's optimistic-concurrency check reloads the treaty,
        checks the event again against the new timeline, and retries.
        """
        new = payload if isinstance(payload, NewEvent) else normalise_event(payload)
        chosen_id = str(UUID(event_id)) if event_id else str(uuid4())
        return self._append(treaty_id, lambda treaty: treaty.record(new, event_id=chosen_id, recorded_at=utc_now()))

    def record_many(self, treaty_id: str, events: Sequence[Mapping[str, Any] | NewEvent], *, event_ids: Sequence[str] | None = None,
                    skip_recorded: bool = False, progress: Callable[[int, int], None] | None = None) -> list[Record]:
        """Record a batch of events in one save, checking the timeline once for the whole batch.

        For imports: give the batch in effective-date order, so that every prefix of the
        history is as consistent as the whole. With ``skip_recorded``, events whose id the
        treaty already holds are left out (a second import records nothing). ``progress(done,
        total)`` is called as events are checked. On any error nothing is recorded, and the
        error carries ``event_id``, naming the event at fault where there is one.
        """
        news = [e if isinstance(e, NewEvent) else normalise_event(e) for e in events]
        ids = [str(UUID(i)) for i in event_ids] if event_ids is not None else [str(uuid4()) for _ in news]
        if len(ids) != len(news):
            raise InvalidInput("one event id per event is needed", field="event_ids")
        return self._append(treaty_id, lambda treaty: record_batch(treaty, news, ids, skip_recorded=skip_recorded, progress=progress))

    def _write_lock(self, treaty_id: str) -> threading.Lock:
        """The lock a write to ``treaty_id`` holds in this process (kept while some thread holds or waits for it)."""
        key = normalise_treaty_id(treaty_id, field="treaty")
        with self._writing_guard:
            lock = self._writing.get(key)
            if lock is None:
                lock = self._writing[key] = threading.Lock()
            return lock

    def _append(self, treaty_id: str, build: Callable[[Treaty], T]) -> T:
        """Load the treaty, let ``build`` record on it, and save; on a lost optimistic-concurrency
        check, back off (with jitter, so the losers do not collide again in step), reload, and
        build again against the new timeline.

        Writes to one treaty from threads of one process take turns (a lock per treaty), so
        they never lose the check to each other; only writers in other processes can.
        """
        deadline = time.monotonic() + self.max_write_seconds
        lock = self._write_lock(treaty_id)
        if not lock.acquire(timeout=self.max_write_seconds):
            raise WriteConflict(f"gave up after {self.max_write_seconds} s waiting for other writes to {treaty_id!r} in this process")
        try:
            return self._append_holding(treaty_id, build, deadline)
        finally:
            lock.release()

    def _append_holding(self, treaty_id: str, build: Callable[[Treaty], T], deadline: float) -> T:
        attempt = 0
        while attempt == 0 or time.monotonic() < deadline:
            attempt += 1
            treaty = self._treaty(treaty_id)
            result = build(treaty)
            try:
                self.save_treaty(treaty)
            except IntegrityError:
                time.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 6)))  # noqa: S311 - jitter, not crypto
                continue
            return result
        raise WriteConflict(
            f"gave up after {attempt} attempts in {self.max_write_seconds} s: other writers kept appending to {treaty_id!r}"
        )

    # -- queries -------------------------------------------------------------------------------

    def get_treaty(self, treaty_id: str) -> TreatySummary:
        """The treaty registered under ``treaty_id``."""
        return self._summary(self._treaty(treaty_id))

    def treaty(self, treaty_id: str) -> Treaty:
        """The treaty aggregate, with its whole history."""
        return self._treaty(treaty_id)

    def list_treaties(self) -> list[TreatySummary]:
        """Every registered treaty, sorted by id."""
        return sorted((self._summary(self._treaty_by_uuid(uuid)) for uuid in self.treaty_uuids()), key=lambda t: t.id)

    def treaty_uuids(self) -> Iterator[UUID]:
        """The aggregate ids of registered treaties, in registration order."""
        topic = get_topic(Treaty.Registered)
        start: int | None = None
        while True:
            batch = self.recorder.select_notifications(start=start, limit=500, topics=[topic], inclusive_of_start=False)
            if not batch:
                return
            for notification in batch:
                yield UUID(str(notification.originator_id))
            start = batch[-1].id

    def list_events(self, treaty_id: str, known_at: datetime | None = None) -> list[Record]:
        """The treaty's recorded events in recorded order (those recorded by ``known_at``)."""
        records = self._treaty(treaty_id).records
        if known_at is None:
            return list(records)
        return [r for r in records if r.recorded_at <= known_at]

    def verify(self, treaty_id: str | None = None) -> VerifyReport:
        """Recompute the hash chains of one treaty, or of the whole ledger.

        Reads the stored events themselves (not a cache) and names the first entry whose
        hash, sequence or link to the previous entry does not match.
        """
        report = VerifyReport()
        if treaty_id is not None:
            uuid = treaty_uuid(normalise_treaty_id(treaty_id, field="treaty"))
            stored = self.recorder.select_events(uuid)
            if not stored:
                raise TreatyNotFound(f"no treaty with id {treaty_id!r}", field="treaty")
            head = self._verify_chain(uuid, stored, report)
            report.head = head
            return report
        chains: dict[UUID, list[Any]] = {}
        start: int | None = None
        while True:
            batch = self.recorder.select_notifications(start=start, limit=1000, inclusive_of_start=False)
            if not batch:
                break
            for notification in batch:
                chains.setdefault(UUID(str(notification.originator_id)), []).append(notification)
            start = batch[-1].id
        heads = []
        for uuid, stored in chains.items():
            stored.sort(key=lambda s: s.originator_version)
            head = self._verify_chain(uuid, stored, report)
            heads.append(f"{report.treaties.get(str(uuid), str(uuid))}:{head}")
        report.head = hashlib.sha256("\n".join(sorted(heads)).encode()).hexdigest() if heads else None
        return report

    # -- internals -----------------------------------------------------------------------------

    def _verify_chain(self, uuid: UUID, stored: Sequence[Any], report: VerifyReport) -> str:
        prev_hash = GENESIS_HASH
        slug = str(uuid)
        for position, item in enumerate(stored, start=1):
            report.events_checked += 1
            where = {"treaty": slug, "sequence": position - 1, "version": item.originator_version}
            if item.originator_version != position:
                report.fail(**where, reason=f"entry {position} of the chain is missing: found version {item.originator_version}")
                return prev_hash
            try:
                event = self.mapper.to_domain_event(item)
            except Exception as error:  # noqa: BLE001 - any decoding failure is tampering
                report.fail(**where, reason=f"the stored bytes do not decode: {error}")
                return prev_hash
            if not isinstance(event, Treaty.Registered | Treaty.EventRecorded):
                report.fail(**where, reason=f"unexpected stored event {type(event).__name__}")
                return prev_hash
            what = "treaty registration" if isinstance(event, Treaty.Registered) else "recorded event"
            stored_id = vars(event).get("event_id")
            if isinstance(stored_id, str):
                where["id"] = stored_id
            wrong = _wrong_fields(event)
            if wrong:
                report.fail(**where, reason=f"its stored fields are not those of a {what}: {wrong}")
                return prev_hash
            try:
                slug, expected, stated, stated_prev, event_id, sequence = _chain_entry(event, slug, prev_hash)
            except Exception as error:  # noqa: BLE001 - a stored value of the wrong kind is tampering too
                report.fail(**where, reason=f"its stored values do not make a {what}: {error!r}")
                return prev_hash
            if isinstance(event, Treaty.Registered):
                report.treaties[str(uuid)] = slug
            where = {**where, "treaty": slug, "id": event_id}
            if sequence is not None and sequence != position - 1:
                report.fail(**where, reason=f"sequence {sequence} stored at place {position - 1}")
                return prev_hash
            if stated_prev != prev_hash:
                report.fail(**where, reason="its prev_hash does not match the previous entry's hash")
                return prev_hash
            if stated != expected:
                report.fail(**where, reason="its content does not match its hash")
                return prev_hash
            prev_hash = stated
        return prev_hash

    def save_treaty(self, treaty: Treaty) -> None:
        """Save what was recorded on ``treaty``, cache it for the next command, and snapshot it when due.

        Raises eventsourcing's ``IntegrityError`` when another writer appended first (nothing
        is saved then).
        """
        before = treaty.version - len(treaty.pending_events)
        self.save(treaty)
        self._keep(treaty)
        self._snapshot(treaty, before)

    def _keep(self, treaty: Treaty) -> None:
        """Cache the treaty just saved, with its folded timeline, for the next command on it.

        eventsourcing's cache (which fast-forwards) keeps the aggregate it read and applies the
        saved events to it, without the fold that checked them; the next command would fold the
        whole history again. The saved aggregate is at least as current, and a cached treaty
        that falls behind (another process wrote) is fast-forwarded when next read, as before.
        """
        cache = self.repository.cache
        if cache is not None:
            cache.put(treaty.id, treaty)

    def _snapshot(self, treaty: Treaty, before: int) -> None:
        """Snapshot ``treaty`` (just saved, at its version) if the save took it past a multiple of :attr:`snapshot_every`."""
        if self.snapshots is not None and treaty.version // self.snapshot_every > before // self.snapshot_every:
            self.snapshots.put([Treaty.Snapshot.take(treaty)])

    def _treaty(self, treaty_id: str) -> Treaty:
        slug = normalise_treaty_id(treaty_id, field="treaty")
        try:
            return self._treaty_by_uuid(treaty_uuid(slug))
        except TreatyNotFound:
            raise TreatyNotFound(f"no treaty with id {slug!r}", field="treaty") from None

    def _treaty_by_uuid(self, uuid: UUID) -> Treaty:
        try:
            treaty: object = self.repository.get(uuid)
        except AggregateNotFoundError:
            raise TreatyNotFound(f"no treaty with aggregate id {uuid}", field="treaty") from None
        if not isinstance(treaty, Treaty):  # pragma: no cover - wiring error
            raise TreatyNotFound(f"no treaty with aggregate id {uuid}", field="treaty")
        return treaty

    @staticmethod
    def _summary(treaty: Treaty) -> TreatySummary:
        return TreatySummary(
            id=treaty.slug,
            title=treaty.title,
            depositaries=list(treaty.depositaries),
            rules=treaty.rules,
            source=dict(treaty.source),
            registered_at=treaty.registered_at,
            events=len(treaty.records),
            head=treaty.head,
        )


def _wrong_fields(event: Treaty.Registered | Treaty.EventRecorded) -> str:
    """What is missing from or foreign to a decoded event's stored fields (``""`` when they are its class's own)."""
    expected = {f.name for f in fields(type(event))}
    present = set(vars(event))
    missing = ", ".join(repr(name) for name in sorted(expected - present))
    unexpected = ", ".join(repr(name) for name in sorted(present - expected))
    return "; ".join(part for part in (missing and f"missing {missing}", unexpected and f"unexpected {unexpected}") if part)


def _chain_entry(event: Treaty.Registered | Treaty.EventRecorded, slug: str, prev_hash: str) -> tuple[str, str, str, str, str, int | None]:
    """The treaty's slug, the recomputed hash, the stated hash, the stated previous hash, the
    event's id and its stated place in the history (``None`` for the registration, which states
    none), for one decoded entry of a treaty's chain."""
    if isinstance(event, Treaty.Registered):
        content = registration_content(event.slug, event.title, event.depositaries, event.rules, event.source, event.timestamp)
        return event.slug, chain_hash(content, prev_hash), event.hash, GENESIS_HASH, "registration", None
    return slug, event.to_record(slug).computed_hash(), event.hash, event.prev_hash, event.event_id, event.sequence


def record_batch(treaty: Treaty, news: Sequence[NewEvent], ids: Sequence[str], *, skip_recorded: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> list[Record]:
    """Record ``news`` on ``treaty`` (not saved), folding its timeline once at the end.

    Every error carries ``event_id``: the event it arose at, or for a contradiction found by
    the fold, the event the fold stopped at.
    """
    pending = [(new, event_id) for new, event_id in zip(news, ids, strict=True) if not (skip_recorded and treaty.find(event_id))]
    if not pending:
        return []  # nothing new: nothing to check
    records = []
    for done, (new, event_id) in enumerate(pending, start=1):
        try:
            records.append(treaty.record(new, event_id=event_id, recorded_at=utc_now(), check_timeline=False))
        except LedgerError as error:
            error.event_id = event_id  # type: ignore[attr-defined]
            raise
        if progress is not None:
            progress(done, len(pending))
    treaty.check_timeline()
    return records
