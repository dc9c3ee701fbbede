"""The rebuild's hold on the views, and the errors it raises: a ``flock`` on SQLite, advisory locks on PostgreSQL.

A rebuild holds the views from before it drops them until it has loaded them again; each
write takes the same lock shared for one batch, so it either finishes before the rebuild
starts or writes nothing (:class:`RebuildInProgress`). On SQLite the lock is a ``flock`` on
``<database>-rebuild-lock`` beside the database file; on PostgreSQL, advisory locks named
after the schema. Both go with the process that holds them, should it die.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg.sql import SQL

from treaty_ledger.domain.errors import LedgerError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite rebuilds then hold nothing against other processes
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "WAIT_STEP",
    "RebuildInProgress",
    "ViewsBusy",
    "advisory_key",
    "flocked",
    "held_for_rebuild",
    "lock_within",
    "rebuild_lock_path",
    "views_free",
]

WAIT_STEP = 0.25
"""Seconds between looks at whether a wait for a rebuild should stop."""


class RebuildInProgress(LedgerError):
    """Another process is rebuilding the views, so this one may not write them now.

    Nothing is lost: the rebuild applies every event recorded before it ends. Raised to a
    second rebuild, too, and to a catch-up (which then stops, having written nothing).
    """


class ViewsBusy(LedgerError):
    """A rebuild gave up waiting for writes in progress to end; it dropped nothing."""


# -- SQLite: a flock beside the database file ------------------------------------------------------


def rebuild_lock_path(db_name: str, *, in_memory: bool) -> str | None:
    """The file a rebuild of the SQLite database ``db_name`` locks (``None`` in memory: one process only).

    The database's real path, so that every name for one file (a symlink, a ``file:`` URI)
    finds the same lock.
    """
    if in_memory or fcntl is None:
        return None
    name = unquote(urlsplit(db_name).path) if db_name.startswith("file:") else db_name
    return f"{os.path.realpath(name)}-rebuild-lock"


@contextmanager
def flocked(path: str | None, *, exclusive: bool, wait: float) -> Iterator[bool]:
    """``flock`` ``path``, shared or exclusive; yield whether it was taken within ``wait`` seconds.

    With no ``path`` (a database in memory) there is nothing to lock: yields ``True``.
    """
    if path is None:
        yield True
        return
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.02)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# -- PostgreSQL: advisory locks named after the schema -----------------------------------------------


def advisory_key(text: str) -> int:
    """A PostgreSQL advisory lock key (a signed 64-bit number) named by ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def lock_within(conn: Any, statement: str, key: int, seconds: float) -> None:
    """Take advisory lock ``key`` with ``statement`` in a transaction of ``conn``, waiting at most ``seconds``.

    Raises ``psycopg.errors.LockNotAvailable`` when the wait runs out. A session lock stays
    held after the transaction; a transaction's lock is released at its end.
    """
    with conn.transaction():
        conn.execute(SQL("SET LOCAL lock_timeout = '{0}ms'").format(int(seconds * 1000)))
        conn.execute(statement, (key,))


def views_free(c: Any, key: int) -> bool:
    """Take the views' lock ``key`` shared until the end of the transaction of ``c``, unless a rebuild holds it."""
    c.execute("SELECT pg_try_advisory_xact_lock_shared(%s) AS free", (key,))
    return bool(c.fetchone()["free"])


@contextmanager
def held_for_rebuild(conn: Any, *, rebuild: int, views: int, wait: float) -> Iterator[None]:
    """Hold advisory locks ``rebuild`` and ``views`` on ``conn`` (a connection in autocommit) for a rebuild.

    Session locks, on a connection kept for the whole rebuild (holding no transaction open).
    The ``rebuild`` lock tells another rebuild at once (:class:`RebuildInProgress`); the
    ``views`` lock, which writers take shared for one transaction each, is then awaited: the
    exclusive request queues behind the writes in progress and makes later ones fail their
    try, so a busy API cannot starve a rebuild. :class:`ViewsBusy` after ``wait`` seconds.
    """
    if not conn.execute("SELECT pg_try_advisory_lock(%s) AS taken", (rebuild,)).fetchone()["taken"]:
        raise RebuildInProgress("another process is rebuilding the views (it holds their rebuild lock)")
    try:
        try:
            lock_within(conn, "SELECT pg_advisory_lock(%s)", views, wait)
        except psycopg.errors.LockNotAvailable:
            raise ViewsBusy(f"writes to the views were still in progress after {wait:g} s; nothing was dropped") from None
        try:
            yield
        finally:
            with suppress(psycopg.Error):  # a lost connection has released the lock already
                conn.execute("SELECT pg_advisory_unlock(%s)", (views,))
    finally:
        with suppress(psycopg.Error):
            conn.execute("SELECT pg_advisory_unlock(%s)", (rebuild,))
