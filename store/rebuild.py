"""Rebuilding the views from a long history with several processes: one per shard of treaties.

A treaty's rows depend on its own events only, so the fold, which is most of a rebuild's
work, splits by treaty. The parent reads the notification log once, window by window, and
hands each worker process the stored events of its shard of treaties; the worker decodes and
folds them and sends back the resulting table rows (with row ids of its own: the first free
id plus its shard number, then every ``shards``-th number). The parent writes each window in
one transaction with the tracking record, exactly like a catch-up batch, while the workers
fold the next windows: a crash leaves the views at the end of the last window written, and a
later catch-up goes on from there. A worker keeps its shard's treaties in memory for the
whole rebuild.

Workers are started with ``spawn`` (fresh interpreters: the parent holds database
connections and pool threads that a fork would copy), which costs about a second, so short
histories are rebuilt by the parent alone (:func:`default_workers`).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import queue
import signal
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Tracking
from eventsourcing.utils import Environment

from treaty_ledger.domain.errors import LedgerError
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.projections.projector import Change, Registration, TreatyProjector
from treaty_ledger.store.postgres_views import PostgresLedgerView
from treaty_ledger.store.sqlite_views import SQLiteLedgerView
from treaty_ledger.store.view_rows import BatchRows
from treaty_ledger.store.views import LedgerView

__all__ = ["MIN_EVENTS", "RebuildFailed", "default_workers", "load_in_parallel", "shard_of"]

MIN_EVENTS = 50_000
"""Below this many events, starting worker processes costs more than it saves."""

_MAX_WORKERS = 8
_AHEAD = 2
"""Windows handed out beyond the one being written: the workers fold while the parent writes."""
_POLL_SECONDS = 1.0

_Stored = tuple[int, int, str, bytes]
"""A stored event as handed to a worker: originator id (as an integer), version, topic, state.

Integers and the few topics (one string object each) pickle several times faster than
UUIDs and a string per event: the queues carry every event of the history."""


class RebuildFailed(LedgerError):
    """A rebuild worker failed; the views hold every window written before it."""


def default_workers(events: int) -> int:
    """How many worker processes to rebuild ``events`` events with (0: the parent alone).

    One per core this process may run on (up to 8) from :data:`MIN_EVENTS` events: the
    parent's reading and writing overlap the workers' folding.
    """
    if events < MIN_EVENTS:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cores, _MAX_WORKERS)


def shard_of(originator: int, shards: int) -> int:
    """The shard a treaty's events belong to (``originator``: its aggregate id's integer)."""
    return originator % shards


@dataclass(frozen=True, slots=True)
class _Window:
    """One window of the log as the parent reads it: its last notification id and its size."""

    end: int
    size: int


def load_in_parallel(
    ledger: Ledger,
    view: LedgerView,
    *,
    stop: int,
    workers: int,
    window: int,
    application_name: str,
    first_id: int = 1,
    progress: Callable[[int], None] | None = None,
    prepare: Callable[[], None] | None = None,
) -> int:
    """Apply notifications 1 to ``stop`` to emptied views with ``workers`` processes; return how many.

    Each window is written, with the tracking record, in one transaction. ``prepare`` is
    called before the first write, once the workers are starting and have the first
    windows to fold: the views are dropped there, while the workers work.
    """
    context = multiprocessing.get_context("spawn")
    inboxes = [context.Queue(maxsize=_AHEAD + 1) for _ in range(workers)]
    outboxes = [context.Queue(maxsize=_AHEAD + 1) for _ in range(workers)]
    backend = "postgres" if isinstance(view, PostgresLedgerView) else "sqlite"
    settings = dict(ledger.env)  # the workers need the mapper only: the parent reads and writes
    for key in Environment(ledger.name).create_keys("PERSISTENCE_MODULE"):
        settings[key] = "eventsourcing.popo"
    processes = [
        context.Process(
            target=_worker, args=(backend, settings, first_id + shard, workers, inboxes[shard], outboxes[shard]),
            name=f"treaty-ledger-rebuild-{shard}", daemon=True,
        )
        for shard in range(workers)
    ]
    for process in processes:
        process.start()
    handed_out: deque[_Window] = deque()
    read_up_to = 0
    topics: dict[str, str] = {}

    def hand_out() -> None:
        nonlocal read_up_to
        if read_up_to >= stop:
            return
        # No ``stop`` in the query: with it, PostgreSQL planned a bitmap scan of every row up to
        # ``stop`` and a sort on disk whenever the events table had not been analysed since a
        # bulk import (each window took 0.25 s instead of 3 ms at 200,000 events). The rows
        # past ``stop`` are recorded after the rebuild began: the final catch-up applies them.
        notifications = [n for n in ledger.recorder.select_notifications(start=read_up_to, limit=window, inclusive_of_start=False)
                         if n.id <= stop]
        if not notifications:
            read_up_to = stop
            return
        shards: list[list[_Stored]] = [[] for _ in range(workers)]
        for n in notifications:
            originator = (n.originator_id if isinstance(n.originator_id, UUID) else UUID(str(n.originator_id))).int
            topic = topics.setdefault(n.topic, n.topic)
            shards[shard_of(originator, workers)].append((originator, n.originator_version, topic, n.state))
        for inbox, part in zip(inboxes, shards, strict=True):
            inbox.put(part)
        read_up_to = notifications[-1].id
        handed_out.append(_Window(read_up_to, len(notifications)))

    applied = 0
    previous: int | None = None
    finished = False
    try:
        for _ in range(_AHEAD):
            hand_out()
        if prepare is not None:
            prepare()
        while handed_out:
            current = handed_out.popleft()
            rows = BatchRows()
            for outbox, process in zip(outboxes, processes, strict=True):
                rows.extend(_receive(outbox, process))
            hand_out()
            view.write_prepared(rows, Tracking(application_name, current.end), previous)
            previous = current.end
            applied += current.size
            if progress is not None:
                progress(current.size)
        finished = True
    finally:
        _stop(processes, inboxes, outboxes, finished=finished)
    return applied


def _stop(processes: list[Any], inboxes: list[Any], outboxes: list[Any], *, finished: bool) -> None:
    """Let finished workers exit; stop the others at once (they may be blocked on a full queue)."""
    if finished:
        for inbox in inboxes:
            with contextlib.suppress(queue.Full):
                inbox.put(None, timeout=_POLL_SECONDS)
        for process in processes:
            process.join(timeout=10)
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)
    for box in (*inboxes, *outboxes):
        box.close()
        box.cancel_join_thread()


def _receive(outbox: Any, process: Any) -> BatchRows:
    """The worker's rows for the next window, or :class:`RebuildFailed`."""
    while True:
        try:
            message = outbox.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if not process.is_alive():
                raise RebuildFailed(f"rebuild worker {process.name} stopped (exit code {process.exitcode})") from None
            continue
        if isinstance(message, str):
            raise RebuildFailed(f"rebuild worker {process.name} failed: {message}")
        return message  # type: ignore[no-any-return]


def _worker(backend: str, settings: dict[str, str], first_id: int, shards: int, inbox: Any, outbox: Any) -> None:
    """A worker process: fold this shard's events, window by window, into table rows for the parent."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
        gc.disable()  # folding creates no cycles; the collector would only walk the kept records
        mapper = Ledger(env=settings).mapper
        view_class: type[LedgerView] = PostgresLedgerView if backend == "postgres" else SQLiteLedgerView
        ids = itertools.count(first_id, shards)
        projectors: dict[int, TreatyProjector] = {}
        while (stored := _next(inbox)) is not None:
            # Dates and times as text: what SQLite stores, and what PostgreSQL's COPY text is made of.
            rows = BatchRows.of(_fold(mapper, projectors, stored), ids, LedgerView.day, LedgerView.stamp)
            if view_class.copies_packed_rows:
                rows.pack()
            outbox.put(rows)
        outbox.cancel_join_thread()  # done, or the parent is gone: exit without waiting for it to read
    except BaseException as error:  # noqa: BLE001 - everything is reported to the parent, which stops the rebuild
        outbox.put("".join(traceback.format_exception_only(error)).strip())


def _next(inbox: Any) -> list[_Stored] | None:
    """The next window's stored events; ``None`` when told to stop or when the parent is gone."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            return inbox.get(timeout=_POLL_SECONDS)  # type: ignore[no-any-return]
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return None


def _fold(mapper: Mapper[UUID], projectors: dict[int, TreatyProjector], stored: Sequence[_Stored]) -> list[Registration | Change]:
    items: list[Registration | Change] = []
    ids: dict[int, UUID] = {}
    for originator, version, topic, state in stored:
        uuid = ids.get(originator)
        if uuid is None:  # one UUID per treaty and window, not one per event
            uuid = ids[originator] = UUID(int=originator)
        event = mapper.to_domain_event(StoredEvent(uuid, version, topic, state))
        if isinstance(event, Treaty.Registered):
            projectors[originator], registration = TreatyProjector.registered(event)
            items.append(registration)
        elif isinstance(event, Treaty.EventRecorded):
            projector = projectors[originator]
            items.append(projector.apply(event.to_record(projector.treaty)))
    return items
