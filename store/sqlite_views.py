"""The materialized views in the SQLite file that holds the events, held for a rebuild by a ``flock``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from eventsourcing.sqlite import SQLiteTrackingRecorder

from treaty_ledger.store.view_locks import WAIT_STEP, RebuildInProgress, ViewsBusy, flocked, rebuild_lock_path
from treaty_ledger.store.views import LedgerView

__all__ = ["SQLiteLedgerView"]


_SECURE_DELETE = {0: "OFF", 1: "ON", 2: "FAST"}
"""``PRAGMA secure_delete`` as read (a number) and as written back (a number 2 would be read as true: ON, not FAST)."""


class SQLiteLedgerView(LedgerView, SQLiteTrackingRecorder):
    """The view in the SQLite file that holds the events."""

    def table(self, name: str) -> str:
        return name

    @contextmanager
    def cursor(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as c:
            yield c

    def tracking_table(self) -> str:
        return "tracking"

    def create_views(self) -> None:
        """Create what is missing of the views, then drop the indexes earlier versions made that nothing reads."""
        super().create_views()
        self.run_each(self.retired_index_statements())

    @cached_property
    def lock_path(self) -> str | None:
        """The file a rebuild locks, beside the database file (``None`` in memory: one process only)."""
        pool = self.datastore.pool
        return rebuild_lock_path(pool.db_name, in_memory=pool.is_sqlite_memory_mode)

    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        if self.held_by_a_rebuild():  # only a rebuild holds the lock exclusively
            raise RebuildInProgress(f"another process is rebuilding the views (it holds {self.lock_path})")
        # flock has no queue: writes go on while the rebuild polls for the moment none is in
        # progress (each holds the lock shared for one batch).
        with flocked(self.lock_path, exclusive=True, wait=self.rebuild_lock_wait) as taken:
            if not taken:
                raise ViewsBusy(f"writes to the views were still in progress after {self.rebuild_lock_wait:g} s "
                                f"(or another rebuild began); nothing was dropped")
            yield

    def wait_for_rebuild(self, stop: threading.Event | None = None) -> bool:
        while True:
            with flocked(self.lock_path, exclusive=False, wait=WAIT_STEP) as free:
                if free:
                    return True
            if stop is not None and stop.is_set():
                return False

    def held_by_a_rebuild(self) -> bool:
        with flocked(self.lock_path, exclusive=False, wait=0) as free:
            return not free

    @contextmanager
    def write_cursor(self, *, few: bool = False) -> Iterator[Any]:
        with flocked(self.lock_path, exclusive=False, wait=0) as taken:
            if not taken:
                raise RebuildInProgress("another process is rebuilding the views: it will apply this write's events")
            with self.cursor(commit=True) as c:
                yield c

    @contextmanager
    def dropping(self, c: Any) -> Iterator[None]:
        """With ``secure_delete`` off: SQLite then frees the dropped tables' pages without overwriting them.

        Debian's SQLite is built with ``SQLITE_SECURE_DELETE``, which zeroes every page freed:
        dropping the views of 10,000 events took 55-100 ms of a 0.7 s rebuild, and 5 ms
        without it. The views hold nothing the events do not (they stay in the same file), so
        nothing is left readable that was not already. The connection's own setting is put back.
        """
        c.execute("PRAGMA secure_delete")
        setting = _SECURE_DELETE[int(c.fetchone()[0])]
        c.execute("PRAGMA secure_delete = OFF")
        try:
            yield
        finally:
            c.execute(f"PRAGMA secure_delete = {setting}")

    @staticmethod
    def rowcount(c: Any) -> int:
        return int(c.sqlite_cursor.rowcount)  # eventsourcing's SQLiteCursor wraps sqlite3's

    def columns(self, table: str) -> list[str]:
        with self.cursor(commit=False) as c:
            c.execute(f"PRAGMA table_info({table})")
            return [row["name"] for row in c.fetchall()]
