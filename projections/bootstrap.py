"""The one place that wires the ledger to its store: tests and entry points pass their parts in."""

from __future__ import annotations

from domain.ledger import Ledger
from projections.store import DatabaseURL, install_immutability, parse_database_url, prepare_store

__all__ = ["open_ledger"]


def open_ledger(database: str | DatabaseURL | None = None) -> Ledger:
    """Open (and create if need be) the ledger in ``database`` (a URL; ``None`` for the default).

    Creates the tables and the triggers that refuse UPDATE and DELETE on stored events.
    """
    url = database if isinstance(database, DatabaseURL) else parse_database_url(database)
    prepare_store(url)
    ledger = Ledger(env=url.eventsourcing_env())
    install_immutability(url)
    return ledger
