"""The projection that keeps the materialized views, and the pull-based catch-up.

eventsourcing's SQLite store offers no subscription, so the ledger catches the views up by
pulling new notifications after each write and at start (:meth:`LedgerProjection.catch_up`).
On PostgreSQL the long-running worker (``treaty-ledger project``) runs the same projection
under eventsourcing's ``ProjectionRunner``. Either way every batch is written in one
transaction with a compare-and-set of the tracking record, so processes that race apply each
event exactly once.
"""

from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import LRUCache
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.projection import Projection

from treaty_ledger.domain.errors import LedgerError, TreeDamaged
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.projections.projector import Change, Registration, TreatyProjector
from treaty_ledger.store.rebuild import RebuildFailed, default_workers, load_in_parallel
from treaty_ledger.store.tree import LedgerTree
from treaty_ledger.store.view_locks import RebuildInProgress, ViewsBusy
from treaty_ledger.store.view_rows import BatchRows
from treaty_ledger.store.views import LedgerView

__all__ = ["APPLICATION_NAME", "LedgerProjection", "Standing", "ViewsBeingRebuilt", "ViewsIncomplete", "ViewsMoved"]

APPLICATION_NAME = Ledger.name
"""The name the views track the ledger's notifications under."""

_ATTEMPTS = 3
"""Tries at applying one subscribed event whose compare-and-set keeps failing, before giving up."""


class ViewsIncomplete(LedgerError, LookupError):
    """The views hold no treaty an event belongs to, or not its earlier events: they were damaged or left behind, and need a rebuild.

    (During a rebuild, a treaty not loaded yet is awaited instead: see :meth:`LedgerProjection.process_event`.)
    """


class ViewsMoved(LedgerError):
    """The views no longer stand where this subscriber left them: follow them again from where they are.

    Raised to eventsourcing's ``ProjectionRunner`` (``treaty-ledger project``), which stops; the
    command catches up from the views and starts following again.
    """


class ViewsBeingRebuilt(LedgerError):
    """The views are behind the store and a rebuild holds them: a read cannot be answered from them now.

    The API answers 503 with ``Retry-After`` (:attr:`retry_after` seconds): the rebuild applies
    every event recorded before it ends, and a read after it is answered from complete views.
    """

    retry_after = 5


@dataclass(frozen=True, slots=True)
class Standing:
    """Where the views stand beside the store: two notification ids, and whether a rebuild holds the views."""

    views: int | None
    """The last notification the views applied (their tracking position; ``None``: none)."""
    store: int | None
    """The store's last notification id (``None``: no event recorded)."""

    @property
    def behind(self) -> bool:
        """Whether the store holds events the views have not applied."""
        return (self.views or 0) < (self.store or 0)

    def describe(self) -> str:
        """Where the views stand, in words."""
        return f"the views stand at notification {self.views or 0}, the store at {self.store or 0}"


_CACHED_TREATIES = 256
"""How many treaties' projectors a projection keeps in memory, unless told otherwise (``max_cached_treaties``)."""

_PAUSE_FROM = 500
"""Batches of at least this many events are applied with the cycle collector paused."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while events are applied (or a dataset imported).

    Applying events allocates many objects that the projection keeps (cached records and
    rows), so the collector would keep walking an ever larger heap: at 100,000 events its
    full collections took a fifth of the rebuild's time (and at 10,000 entries a sixth of an
    import's, whose treaty keeps its records, events and fold). Applying creates no reference cycles
    (checked with ``gc.DEBUG_SAVEALL``: nothing unreachable after a 20,000-event rebuild), so
    reference counting frees everything; any cycle waits for the next collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ProjectorCache(LRUCache[Hashable, TreatyProjector]):
    """eventsourcing's LRU cache, of treaty projectors by aggregate id (as the mapper gives it: a UUID).

    Bounded: putting one more than ``maxsize`` lets the least recently used go. ``len()``
    tells how many it holds. (Its ``clear`` leaves the entries in place: make a new one.)
    """

    def __len__(self) -> int:
        return len(self.cache)


def _page(ledger: Ledger, after: int | None, size: int) -> list[tuple[Any, Tracking]]:
    """Up to ``size`` of the ledger's events after notification ``after``, decoded, with their tracking."""
    notifications = ledger.recorder.select_notifications(start=after, limit=size, inclusive_of_start=False)
    return [(ledger.mapper.to_domain_event(n), Tracking(APPLICATION_NAME, n.id)) for n in notifications]


class LedgerProjection(Projection[LedgerView]):
    """Applies the ledger's events to the materialized views."""

    name = "treaty_views"
    topics = ()
    rebuild_batch_size = 5000
    """Events a rebuild reads, folds and writes at a time."""

    def __init__(self, view: LedgerView) -> None:
        super().__init__(view)
        self._projectors = ProjectorCache(_CACHED_TREATIES)
        self._lock = threading.RLock()
        self._tracked: int | None = view.max_tracking_id(APPLICATION_NAME)
        self._pending: Future[None] | None = None
        self._stopping = threading.Event()
        self.tree: LedgerTree | None = None
        """The Merkle tree, grown in each batch's transaction when it stands where the views do (the wiring sets it)."""

    @property
    def tracked(self) -> int | None:
        """The last notification this process applied to the views, or read they stand at."""
        return self._tracked

    @property
    def max_cached_treaties(self) -> int:
        """Treaties whose records and rows stay in memory between events (least recently used go).

        Setting it forgets the treaties held (they are read back from the views as needed).
        """
        return int(self._projectors.maxsize)

    @max_cached_treaties.setter
    def max_cached_treaties(self, size: int) -> None:
        with self._lock:
            self._projectors = ProjectorCache(size)

    # -- eventsourcing's entry point (ProjectionRunner) -----------------------------------------

    def stop_waiting(self) -> None:
        """The worker is stopping: end a wait for a rebuild at once, and apply no more events.

        Nothing is lost: the next worker starts from where the views stand.
        """
        self._stopping.set()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply one event delivered by a subscription.

        While another process rebuilds the views this waits for it. The subscription delivers
        every event after this process's position, in order, so if the views then stand at or
        beyond that position, everything up to where they stand is applied (by another process,
        or by the rebuild) and this goes on from there. If they stand behind it (a rebuild that
        stopped part-way), events this process applied are gone from them and it cannot apply
        them again: it raises :class:`ViewsMoved`, and the worker follows again from the views.
        """
        with self._lock:
            conflicts = 0
            while True:
                if self._stopping.is_set():
                    return  # the worker is stopping: an event skipped now must not be followed by a later one
                if self._tracked is not None and tracking.notification_id <= self._tracked:
                    return  # applied already, by this process or another
                previous = self._tracked
                try:
                    self.apply([(domain_event, tracking)], previous)
                    return
                except RebuildInProgress:
                    if not self.view.wait_for_rebuild(self._stopping):
                        return
                    error: Exception | None = None
                except ViewsIncomplete as missing:  # being rebuilt, or left behind
                    if not self.view.held_by_a_rebuild() and self.view.max_tracking_id(APPLICATION_NAME) == previous:
                        raise
                    if not self.view.wait_for_rebuild(self._stopping):
                        return
                    conflicts += 1
                    error = missing
                except IntegrityError as conflict:
                    conflicts += 1
                    error = conflict
                self._tracked = self.view.max_tracking_id(APPLICATION_NAME)
                if self._tracked is not None and tracking.notification_id <= self._tracked:
                    return  # another process applied it first (or the rebuild did)
                if previous is not None and (self._tracked is None or self._tracked < previous):
                    raise ViewsMoved(f"the views stand at notification {self._tracked}, behind {previous} where this "
                                     "process left them (a rebuild stopped part-way?)") from error
                if error is not None and conflicts >= _ATTEMPTS:
                    raise error
                # At or beyond this process's position: apply it from where the views stand, reading
                # back what this process held (the views may have been rebuilt meanwhile).

    # -- pull-based catch-up ----------------------------------------------------------------------

    def standing(self, ledger: Ledger) -> Standing:
        """Where the views stand beside the store: their tracking position and the store's last notification id."""
        return Standing(*self.view.positions(APPLICATION_NAME, ledger.recorder))

    def ensure_current(self, ledger: Ledger) -> int:
        """Catch the views up if they are behind the store (before a read); return how many events were applied.

        Cheap when they are current: two ids read and compared. They fall behind when another
        process records events without catching them up (an import, a process killed between
        its write and its catch-up, the projection worker stopped), or when a rebuild died
        part-way (its last batch written, or the views left empty). Raises
        :class:`ViewsBeingRebuilt` when they are behind and a rebuild holds them: the read is
        to be asked again once the rebuild has loaded them.
        """
        before = self.standing(ledger)
        if not before.behind:
            return 0
        if self.view.held_by_a_rebuild():
            raise ViewsBeingRebuilt(f"the views are being rebuilt ({before.describe()}): ask again in a few seconds")
        if self._tracked is not None and (before.views is None or before.views < self._tracked):
            # The views went back since this process last wrote them: a rebuild ran, or died
            # part-way and left indexes uncreated (each statement is IF NOT EXISTS).
            self.view.create_views()
        applied = self.catch_up(ledger)
        after = self.view.max_tracking_id(APPLICATION_NAME)
        if (after or 0) < (before.store or 0):  # a rebuild took the views meanwhile
            raise ViewsBeingRebuilt(f"the views are being rebuilt (they stand at notification {after or 0}, "
                                    f"the store at {before.store}): ask again in a few seconds")
        return applied

    def catch_up(self, ledger: Ledger, *, batch_size: int = 1000, progress: Callable[[int], None] | None = None) -> int:
        """Apply every notification the views have not applied yet; return how many were applied.

        While another process rebuilds the views this applies nothing (the rebuild applies
        everything recorded before it ends) and returns what it had applied before.
        """
        applied = 0
        with self._lock:
            while True:
                previous = self.view.max_tracking_id(APPLICATION_NAME)
                if previous != self._tracked:
                    # Another process applied events (or rebuilt the views): what this one holds
                    # in memory may be behind or gone; read the treaties back as they need them.
                    self._forget()
                    self._tracked = previous
                items = _page(ledger, previous, batch_size)
                if not items:
                    return applied
                try:
                    # Long catch-ups keep many records in memory; short ones are not worth pausing for.
                    with collector_paused() if len(items) >= _PAUSE_FROM else nullcontext():
                        self.apply(items, previous)
                except IntegrityError:
                    self._forget()  # another process got there first; read where it left off
                    continue
                except (RebuildInProgress, ViewsIncomplete) as error:
                    if isinstance(error, RebuildInProgress) or self.view.held_by_a_rebuild():
                        # Another process is rebuilding the views; it applies these events too.
                        self._tracked = None  # the views it leaves are not the ones this process read
                        return applied
                    if self.view.max_tracking_id(APPLICATION_NAME) == previous:
                        raise  # the views are where they were, and do lack the treaty
                    self._forget()  # rebuilt meanwhile: read them again
                    continue
                applied += len(items)
                if progress is not None:
                    progress(len(items))
                if len(items) < batch_size:
                    return applied  # the store held no more when the page was read

    def rebuild(self, ledger: Ledger, *, workers: int | None = None,
                progress: Callable[[int], None] | None = None, indexing: Callable[[], None] | None = None) -> int:
        """Drop the views and apply the whole history again; return how many events were applied.

        With ``workers`` > 0 (by default, one per core for long histories) worker processes
        fold shards of the treaties (:mod:`treaty_ledger.store.rebuild`) while this one writes. The
        tables are loaded without the indexes only queries need, which are created at the end
        (``indexing`` is called before): at 100,000 events that keeps the load rate flat
        instead of falling by a third. Each batch is written with the tracking record, so a
        crash part-way leaves the views at the last batch written and the next catch-up goes
        on from there (opening the views creates missing indexes).

        The views are held meanwhile (:meth:`LedgerView.rebuilding`): other processes' catch-ups
        write nothing until the tables are loaded. Raises
        :class:`~treaty_ledger.store.view_locks.RebuildInProgress` when another rebuild holds them, and
        :class:`~treaty_ledger.store.view_locks.ViewsBusy` (having applied what others recorded meanwhile)
        when writes in progress do not end in time.
        """
        with self._lock, collector_paused():
            # Hold the views first: writes in progress elsewhere end, later ones write nothing
            # until the tables are loaded and indexed (this process's last catch-up applies them).
            try:
                with self.view.rebuilding():
                    try:
                        applied = self._reload(ledger, workers, progress, indexing)
                    except IntegrityError as error:  # only a process that ignores the hold gets here
                        raise RebuildFailed(f"another process wrote the views during the rebuild ({error}); rebuild again") from error
            except ViewsBusy:
                # On PostgreSQL other processes' catch-ups stood back while this waited (its request
                # queued ahead of theirs): apply what they recorded.
                self.catch_up(ledger, batch_size=self.rebuild_batch_size)
                raise
            # Events recorded meanwhile (the workers stopped at the last one recorded when they started).
            return applied + self.catch_up(ledger, batch_size=self.rebuild_batch_size, progress=progress)

    def _reload(self, ledger: Ledger, workers: int | None, progress: Callable[[int], None] | None,
                indexing: Callable[[], None] | None) -> int:
        stop = ledger.recorder.max_notification_id() or 0
        count = default_workers(stop) if workers is None else workers
        # Row ids are never reused, so a process still holding rows of the old views can
        # close none of the new ones by mistake: its batch fails and it reads them back.
        first_id = self.view.max_row_id() + 1

        def drop() -> None:
            # Workers hold their treaties in memory; this process alone reloads them from the views.
            self.view.drop_views(APPLICATION_NAME, apply_index=count == 0)
            self.reset()

        if count > 0:
            # The views are dropped once the workers are starting and have the first windows
            # (dropping SQLite's tables takes a second at 200,000 events: they fold meanwhile).
            applied = load_in_parallel(ledger, self.view, stop=stop, workers=count, window=self.rebuild_batch_size,
                                       first_id=first_id, application_name=APPLICATION_NAME, progress=progress,
                                       prepare=drop)
        else:
            drop()
            applied = self._catch_up_pipelined(ledger, batch_size=self.rebuild_batch_size, first_id=first_id, progress=progress)
        if indexing is not None:
            indexing()
        self.view.create_indexes()
        return applied

    # -- applying -----------------------------------------------------------------------------------

    def apply(self, items: Sequence[tuple[Any, Tracking]], previous: int | None) -> None:
        """Apply ``items`` and move the tracking record from ``previous``, in one transaction (with the Merkle tree's leaves, when it follows)."""
        tree = self.tree
        try:
            changes = self._fold(items)
            try:
                grown = self.view.write_batch(changes, items[-1][1], previous,
                                              also=(lambda c: tree.append_with_views(c, items, previous)) if tree is not None else None)
            except (IntegrityError, TreeDamaged):
                if tree is None:
                    raise
                tree.forget()  # the views never wait on the tree: write them alone (the tree's own catch-up says what is wrong)
                grown = self.view.write_batch(changes, items[-1][1], previous)
        except BaseException:
            self._forget()
            if tree is not None:
                tree.forget()
            raise
        if tree is not None and grown is not None:
            tree.committed(grown)
        self._tracked = items[-1][1].notification_id

    def _fold(self, items: Sequence[tuple[Any, Tracking]]) -> list[Registration | Change]:
        """The treaties registered and the row changes of ``items`` (the projectors advance).

        The batch's own treaties are held here until it ends: the cache may let one go before
        the batch is written, and reading it back from the views then would miss the batch's
        events.
        """
        batch: list[Registration | Change] = []
        held: dict[Hashable, TreatyProjector] = {}
        for event, _ in items:
            if isinstance(event, Treaty.Registered):
                projector, registration = TreatyProjector.registered(event)
                batch.append(registration)
            elif isinstance(event, Treaty.EventRecorded):
                found = held.get(event.originator_id)
                projector = self._projector(event.originator_id) if found is None else found
                if event.sequence > projector.last_sequence + 1:
                    # Read back from views a rebuild is loading (or left part-loaded): they lack this
                    # treaty's events before this one. The catch-up leaves them to the rebuild, or reads again.
                    raise ViewsIncomplete(f"the views hold {projector.treaty} up to event {projector.last_sequence}, "
                                          f"not {event.sequence - 1}: rebuild them (treaty-ledger rebuild)")
                if event.sequence > projector.last_sequence:
                    batch.append(projector.apply(event.to_record(projector.treaty)))
            else:
                continue
            held[event.originator_id] = projector
        for originator_id, projector in held.items():
            self._projectors.put(originator_id, projector)  # now the most recently used
        return batch

    def _catch_up_pipelined(self, ledger: Ledger, *, batch_size: int, first_id: int,
                            progress: Callable[[int], None] | None) -> int:
        """Like :meth:`catch_up`, but a writer thread stores each batch while the next is folded.

        This thread prepares the rows (ids, JSON), so the writer has little Python left to do
        and the database's own work (SQLite's, which runs without the GIL, or the PostgreSQL
        server's) overlaps the fold. Batches are written in order, each with the tracking
        record; a treaty that must be reloaded from the views waits for the pending write.
        """
        applied = 0
        pending_size = 0  # events in the batch being written

        def written() -> None:
            nonlocal applied, pending_size
            self._wait_for_write()
            applied += pending_size
            if progress is not None and pending_size:
                progress(pending_size)
            pending_size = 0

        with self._lock, collector_paused(), ThreadPoolExecutor(1, thread_name_prefix="treaty-views-writer") as writer:
            previous = self.view.max_tracking_id(APPLICATION_NAME)
            # Rows are numbered here, into the just emptied views: should another process write
            # meanwhile, the tracking compare-and-set that opens each transaction fails first.
            ids = itertools.count(first_id)
            try:
                while True:
                    items = _page(ledger, previous, batch_size)
                    if not items:
                        break
                    rows = BatchRows.of(self._fold(items), ids, self.view.day, self.view.stamp)
                    written()
                    self._pending = writer.submit(self.view.write_prepared, rows, items[-1][1], previous)
                    pending_size = len(items)
                    previous = items[-1][1].notification_id
                written()
            except BaseException:
                self._pending = None
                self._forget()
                raise
            self._tracked = previous
        return applied

    def _wait_for_write(self) -> None:
        """Wait for the batch being written (if any); its failure is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _projector(self, originator_id: Hashable) -> TreatyProjector:
        """The projector of treaty ``originator_id``: from the cache, else read back from the views."""
        try:
            return self._projectors.get(originator_id)
        except KeyError:
            pass
        self._wait_for_write()  # the views must hold everything applied before reading a treaty back
        row = self.view.treaty_row(uuid=str(originator_id))
        if row is None:
            raise ViewsIncomplete(f"the views hold no treaty with aggregate id {originator_id}: rebuild them (treaty-ledger rebuild)")
        return TreatyProjector(row.treaty, row.rules, self.view.records(row.treaty), self.view.current_rows(row.treaty))

    def _forget(self) -> None:
        self._projectors = ProjectorCache(self._projectors.maxsize)

    def reset(self) -> None:
        """Forget everything held in memory (after the views were dropped)."""
        with self._lock:
            self._forget()
            self._tracked = None
