"""The one place that wires the ledger to its store: tests and entry points pass their parts in."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from domain.ledger import Ledger
from projections.store import DatabaseURL, install_immutability, parse_database_url, prepare_store, startup_lock

__all__ = ["open_ledger"]


def open_ledger(database: str | DatabaseURL | None = None) -> Ledger:
    """Open (and create if need be) the ledger in ``database`` (a URL; ``None`` for the default).

    Creates the tables and the triggers that refuse UPDATE and DELETE on stored events. On
    PostgreSQL, processes starting at once take turns: eventsourcing's table set-up is not
    safe to run concurrently.
    """
    url = database if isinstance(database, DatabaseURL) else parse_database_url(database)
    prepare_store(url)
    lock: AbstractContextManager[object] = startup_lock(url) if url.is_postgres else nullcontext()
    with lock:
        ledger = Ledger(env=url.eventsourcing_env())
        install_immutability(url)
    return ledger
