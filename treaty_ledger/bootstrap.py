"""The one place that wires the ledger, its store and its views: entry points and tests call these."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.projection import ProjectionRunner
from eventsourcing.utils import Environment, get_topic

from treaty_ledger.domain.checkpoints import NoteSigner
from treaty_ledger.domain.errors import TreeDamaged
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.domain.records import Record
from treaty_ledger.projections.read_model import ReadModel
from treaty_ledger.store.database import (
    DatabaseURL,
    grant_api_role,
    install_immutability,
    parse_database_url,
    prepare_store,
    repair_tracking_migration,
    startup_lock,
    tables_exist,
)
from treaty_ledger.store.postgres_views import PostgresLedgerView
from treaty_ledger.store.projection import APPLICATION_NAME, LedgerProjection
from treaty_ledger.store.signing import DEFAULT_ORIGIN, load_signer
from treaty_ledger.store.sqlite_views import SQLiteLedgerView
from treaty_ledger.store.tree import LedgerTree
from treaty_ledger.store.views import LedgerView

__all__ = [
    "Services",
    "grant_access",
    "open_ledger",
    "open_projection_runner",
    "open_services",
    "open_view",
]


_log = logging.getLogger(__name__)

_TRACKING_TABLE = {"sqlite": "tracking", "postgresql": f"{LedgerProjection.name}_tracking"}
"""Where eventsourcing keeps the views' tracking record."""


def _url(database: str | DatabaseURL | None) -> DatabaseURL:
    return database if isinstance(database, DatabaseURL) else parse_database_url(database)


def _lock(url: DatabaseURL) -> AbstractContextManager[Any]:
    """PostgreSQL's set-up lock, yielding its connection (set-up steps run on it); nothing on SQLite."""
    return startup_lock(url) if url.is_postgres else nullcontext()


def open_ledger(database: str | DatabaseURL | None = None) -> Ledger:
    """Open (and create if need be) the ledger in ``database`` (a URL; ``None`` for the default).

    Creates the tables and the triggers that refuse UPDATE and DELETE on stored events. On
    PostgreSQL, processes starting at once take turns: eventsourcing's table set-up is not
    safe to run concurrently.
    """
    url = _url(database)
    prepare_store(url)
    with _lock(url) as conn:
        env = url.eventsourcing_env()
        if url.is_postgres and tables_exist(url, conn, (url.events_table, url.snapshots_table)):
            env["CREATE_TABLE"] = "false"  # no DDL once they exist: the API may run as a role that cannot create (grant_access)
        ledger = Ledger(env=env)
        install_immutability(url, conn)
    return ledger


def grant_access(database: str | DatabaseURL, role: str, password: str | None = None) -> bool:
    """Create the store's tables (as the owner running this) and let ``role`` run the API and the worker on them (PostgreSQL).

    See :func:`~treaty_ledger.store.database.grant_api_role`; returns whether the role was created.
    """
    url = _url(database)
    open_ledger(url).close()
    open_view(url).datastore.close()  # type: ignore[attr-defined]
    return grant_api_role(url, role, tracking_table=_TRACKING_TABLE["postgresql"], password=password)


def _view_class(url: DatabaseURL) -> type[LedgerView]:
    return PostgresLedgerView if url.is_postgres else SQLiteLedgerView


def view_env(database: str | DatabaseURL | None) -> dict[str, str]:
    """The eventsourcing settings of the views (the same store as the events)."""
    url = _url(database)
    env = url.eventsourcing_env(views=True)
    env["TRACKING_RECORDER_TOPIC"] = get_topic(_view_class(url))
    return env


def open_view(database: str | DatabaseURL | None = None) -> LedgerView:
    """Open (and create if need be) the materialized views in ``database``.

    eventsourcing creates its tracking table; the views' own tables and indexes are created
    next (:meth:`~treaty_ledger.store.views.LedgerView.create_views`). On PostgreSQL, processes
    starting at once take turns.
    """
    url = _url(database)
    with _lock(url) as conn:
        repair_tracking_migration(url, _TRACKING_TABLE[url.backend], conn)
        env = view_env(url)
        if url.is_postgres and tables_exist(url, conn, [_TRACKING_TABLE[url.backend]]):
            env["CREATE_TABLE"] = "false"
        factory = InfrastructureFactory.construct(Environment(LedgerProjection.name, env))
        view = factory.tracking_recorder(_view_class(url))
        if not isinstance(view, LedgerView):  # pragma: no cover - wiring error
            raise TypeError(type(view).__name__)
        view.create_views()
        if view.is_stale():
            # Views are derived data: tables laid out by an older version are dropped, and
            # the catch-up at start builds them again from the events.
            with view.rebuilding():
                view.drop_views(APPLICATION_NAME)
                view.create_indexes()
    return view


@dataclass
class Services:
    """The write side and the read side of one store, kept in step: a read after a write sees it."""

    ledger: Ledger
    read: ReadModel
    projection: LedgerProjection
    database: DatabaseURL
    tree: LedgerTree
    _verified: tuple[int | None, dict[str, Any]] | None = field(default=None, init=False, repr=False)
    _verifying: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def view(self) -> LedgerView:
        """The materialized views (also the home of the key and idempotency tables)."""
        return self.projection.view

    def record_event(self, treaty: str, payload: dict[str, Any], *, event_id: str | None = None) -> Record:
        """Record an event, then bring the views up to date before returning."""
        record = self.ledger.record_event(treaty, payload, event_id=event_id)
        self.refresh()
        return record

    def register_treaty(self, payload: dict[str, Any]) -> Any:
        """Register a treaty, then bring the views up to date before returning."""
        summary = self.ledger.register_treaty(payload)
        self.refresh()
        return summary

    def refresh(self) -> int:
        """Catch the views and the Merkle tree up with the store (a checkpoint is issued when the tree grew); return the views' count.

        The views' catch-up grows the tree in its own transactions when the tree stands where
        the views do; otherwise (another process wrote, the views were rebuilt) the tree
        catches up on its own.
        """
        applied = self.read.refresh()
        if self.tree.position is None or self.tree.position != self.projection.tracked:
            try:
                self.tree.catch_up(self.ledger)
            except TreeDamaged as damaged:  # the write is recorded and the views current; proofs say what is wrong
                _log.error("%s", damaged.reason)
        return applied

    def verify_ledger(self) -> dict[str, Any]:
        """The whole ledger's verification (:meth:`Ledger.verify`, as JSON), computed once per head of the store.

        Recomputing every hash chain takes seconds at 50,000 events, and the API serves it to
        anyone: the answer is kept in this process with the store's last notification id, so
        a repeat costs one query until an event is recorded. One computation at a time: callers
        arriving meanwhile wait for it and share its answer. (The triggers refuse to change or
        delete stored events; a row changed behind their back without a new event is found by
        the next computation after an event, a restart, or ``treaty-ledger verify``, never cached.)
        """
        with self._verifying:
            head = self.ledger.recorder.max_notification_id()
            if self._verified is None or self._verified[0] != head:
                # Events recorded after ``head`` was read may be in the answer: it is then newer
                # than its key, and the next call, seeing a later head, computes it again.
                self._verified = (head, self.ledger.verify().to_json())
            return copy.deepcopy(self._verified[1])

    def rebuild_views(self, *, workers: int | None = None, progress: Callable[[int], None] | None = None,
                      indexing: Callable[[], None] | None = None) -> int:
        """Drop the views and build them again from the whole history; return how many events were applied.

        ``workers``: processes that fold shards of the treaties (0: this process alone;
        by default one per core when the history is long). They are started with
        ``multiprocessing``'s ``spawn``, which imports the calling script again: a script
        calling this needs the usual ``if __name__ == "__main__":`` guard. Raises
        :class:`~treaty_ledger.store.view_locks.RebuildInProgress` when another process is rebuilding.
        """
        return self.projection.rebuild(self.ledger, workers=workers, progress=progress, indexing=indexing)

    def close(self) -> None:
        """Close the store's connections."""
        self.ledger.close()
        self.projection.view.datastore.close()  # type: ignore[attr-defined]


_ENVIRONMENT: Any = object()
"""``signer``'s default: the key the environment names (:func:`~treaty_ledger.store.signing.load_signer`)."""


def open_services(database: str | DatabaseURL | None = None, *, catch_up: bool = True, signer: NoteSigner | None = _ENVIRONMENT) -> Services:
    """Open the ledger, its views and its Merkle tree on ``database``, and catch them up.

    ``signer`` signs the checkpoints (by default the key the environment names; ``None``:
    none are signed).
    """
    url = _url(database)
    key = load_signer() if signer is _ENVIRONMENT else signer
    ledger = open_ledger(url)
    view = open_view(url)
    projection = LedgerProjection(view)
    read = ReadModel(view, lambda: projection.catch_up(ledger), lambda: projection.ensure_current(ledger))
    tree = LedgerTree(view, origin=key.name if key is not None else DEFAULT_ORIGIN, signer=key)
    projection.tree = tree
    services = Services(ledger, read, projection, url, tree)
    if catch_up:
        services.refresh()
    return services


def open_projection_runner(database: str | DatabaseURL) -> ProjectionRunner[Ledger, LedgerView]:
    """eventsourcing's ProjectionRunner of the views, on a PostgreSQL LISTEN/NOTIFY subscription.

    It opens an application and a view of its own: the application's pool of 2 (the
    subscription's LISTEN holds one), the view's of 1, and the set-up lock's while it starts;
    so a caller following with it holds no :class:`Services` meanwhile, and keeps to 4. The views' tables
    are checked (and what a rebuild that stopped part-way left uncreated is created) first.
    """
    url = _url(database)
    env = view_env(url)
    if url.is_postgres:  # eventsourcing reads NAME_KEY before KEY: the application's pool 2, the view's 1
        env[f"{Ledger.name.upper()}_POSTGRES_MAX_OVERFLOW"] = "1"
        env[f"{LedgerProjection.name.upper()}_POSTGRES_MAX_OVERFLOW"] = "0"
    with _lock(url) as conn:
        if url.is_postgres and tables_exist(url, conn, (url.events_table, url.snapshots_table, _TRACKING_TABLE[url.backend])):
            env["CREATE_TABLE"] = "false"  # no DDL once they exist (grant_access)
        runner: ProjectionRunner[Ledger, LedgerView] = ProjectionRunner(
            application_class=Ledger, projection_class=LedgerProjection, view_class=_view_class(url), env=env
        )
        runner.projection.view.create_views()
    return runner
