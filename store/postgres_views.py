"""The materialized views in the PostgreSQL database (and schema) that holds the events.

Rows are written with COPY, and ended rows closed with one UPDATE per batch; a rebuild holds
the views with advisory locks named after the schema (:mod:`treaty_ledger.store.view_locks`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from functools import cached_property
from typing import Any

import psycopg
from eventsourcing.persistence import ApplicationRecorder, OperationalError, ProgrammingError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresTrackingRecorder
from psycopg import errors, pq
from psycopg.sql import SQL

from treaty_ledger.store.view_locks import (
    WAIT_STEP,
    RebuildInProgress,
    advisory_key,
    held_for_rebuild,
    lock_within,
    views_free,
)
from treaty_ledger.store.view_rows import BatchRows
from treaty_ledger.store.view_sql import INTERVAL_COLUMNS, RECORD_COLUMNS, RETIRED_INDEXES, indexed_table
from treaty_ledger.store.views import LedgerView

__all__ = ["PostgresLedgerView"]

_log = logging.getLogger(__name__)

_RETIRED_DROP_WAIT = "2s"
"""How long dropping a retired index waits for its table's lock before leaving the index for the next process."""

_FEW = 16
"""Up to this many new rows of a table are inserted with one statement (one round trip), more are copied (two)."""


class PostgresLedgerView(LedgerView, PostgresTrackingRecorder):
    """The view in the PostgreSQL database (and schema) that holds the events."""

    placeholder = "%s"
    date_type = "DATE"
    stamp_type = "TIMESTAMPTZ"
    row_id_type = "BIGINT"
    clustered = ""
    bytes_type = "BYTEA"
    copies_packed_rows = True

    # -- the tables ----------------------------------------------------------------------------

    def create_views(self) -> None:
        """Create what is missing of the views; when their tables are there, run no DDL but missing indexes.

        ``CREATE INDEX IF NOT EXISTS`` locks its table even when the index exists. Run with
        every other CREATE statement in one transaction, a process opening the views beside a
        worker in the middle of a write waited for the worker on one table while holding a
        lock on another the worker needed next: PostgreSQL reported a deadlock. So with the
        tables in place (every start but the first) only the catalog is read, and indexes a
        rebuild left uncreated (it stopped before the end) are made one transaction each
        (:meth:`create_indexes`), unless a rebuild holds the views (it creates them when it
        has loaded the tables). Indexes an earlier version made and nothing reads
        (:data:`~treaty_ledger.store.view_sql.RETIRED_INDEXES`) are dropped the same way.
        """
        names = self.relation_names()
        found = self.relations_found([*names, *RETIRED_INDEXES])
        missing = set(names) - found
        if missing & set(self.table_names()):
            super().create_views()
        elif missing and not self.held_by_a_rebuild():
            self.create_indexes()
        if found & set(RETIRED_INDEXES) and not self.held_by_a_rebuild():  # a rebuild drops them with their tables
            self.drop_retired_indexes()

    def drop_retired_indexes(self) -> None:
        """Drop the retired indexes, each in a transaction of its own, if that can be done at once; else leave them.

        Dropping an index locks its table: the DROP waits at most :data:`_RETIRED_DROP_WAIT` for
        transactions using it (reads and writes queue behind a waiting DROP). A role that does not
        own the tables (the API's, after ``grant``) cannot drop them. Either way the index stays,
        costing writes a little and answers nothing; the next process to open the views tries again.
        """
        for statement in self.retired_index_statements():
            try:
                with self.cursor(commit=True) as c:
                    c.execute(f"SET LOCAL lock_timeout = '{_RETIRED_DROP_WAIT}'")
                    c.execute(statement)
            except (OperationalError, ProgrammingError) as error:
                if not isinstance(error.__cause__, (errors.LockNotAvailable, errors.InsufficientPrivilege)):
                    raise
                _log.warning("left an index earlier versions made, which nothing reads (%s): %s", statement, error)

    def relations_found(self, names: Iterable[str]) -> set[str]:
        """Which of the tables and indexes ``names`` (unqualified) the schema holds."""
        with self.cursor(commit=False) as c:
            c.execute("SELECT r.relname FROM pg_class r JOIN pg_namespace s ON s.oid = r.relnamespace "
                      "WHERE s.nspname = %s AND r.relname = ANY(%s)", (self.datastore.schema, list(names)))
            return {row["relname"] for row in c.fetchall()}

    def create_indexes(self) -> None:
        """Create the indexes missing after a rebuild, each table's on a connection of its own, at once.

        Still one transaction per index (see :meth:`LedgerView.create_indexes`); the two
        tables' indexes are built side by side, which takes a rebuild's last second to half.
        """
        by_table: dict[str, list[str]] = {}
        for statement in (*self.apply_index_statements(), *self.read_index_statements()):
            by_table.setdefault(indexed_table(statement), []).append(statement)
        with ThreadPoolExecutor(max_workers=len(by_table), thread_name_prefix="treaty-ledger-index") as pool:
            for built in [pool.submit(self.run_each, statements) for statements in by_table.values()]:
                built.result()

    def table(self, name: str) -> str:
        return f'"{self.datastore.schema}".{name}'

    @contextmanager
    def cursor(self, *, commit: bool) -> Iterator[Any]:
        """A cursor in a transaction when ``commit``; otherwise a cursor in autocommit, each statement its own transaction.

        A read in a transaction block cost two more round trips (BEGIN, ROLLBACK) and gave
        nothing at READ COMMITTED, where each statement sees its own snapshot anyway; and its
        ROLLBACK made psycopg forget the connection's prepared statements (DEALLOCATE ALL), so
        every read was planned again (0.5 to 0.8 ms). In autocommit a repeated read is
        prepared once per connection.
        """
        if commit:
            with self.datastore.transaction(commit=True) as c:
                yield c
            return
        with self.datastore.get_connection() as conn, conn.cursor() as c:
            yield c

    def tracking_table(self) -> str:
        return f'"{self.datastore.schema}"."{self.tracking_table_name}"'

    def positions(self, application_name: str, recorder: ApplicationRecorder) -> tuple[int | None, int | None]:
        """Both positions in one round trip when ``recorder``'s events are in this database and schema (as opened).

        eventsourcing's own two statements, as scalar subqueries of one prepared statement:
        a read before every answer saves a round trip (about a fifth of a membership answer).
        """
        if not self._beside(recorder):
            return super().positions(application_name, recorder)
        assert isinstance(recorder, PostgresApplicationRecorder)
        statement = SQL("SELECT ({}) AS views, ({}) AS store").format(self.max_tracking_id_statement, recorder.max_notification_id_statement)
        with self.datastore.get_connection() as conn, conn.cursor() as c:
            c.execute(statement, (application_name,), prepare=True)
            row = c.fetchone()
            assert row is not None
            return row["views"], row["store"]

    def _beside(self, recorder: ApplicationRecorder) -> bool:
        """Whether ``recorder`` keeps its events in this view's database and schema."""
        if not isinstance(recorder, PostgresApplicationRecorder) or recorder.datastore.schema != self.datastore.schema:
            return False
        ours, theirs = self.datastore.pool.kwargs, recorder.datastore.pool.kwargs
        if not isinstance(ours, dict) or not isinstance(theirs, dict):
            return False
        return all(ours.get(k) == theirs.get(k) for k in ("dbname", "host", "port"))

    def columns(self, table: str) -> list[str]:
        with self.cursor(commit=False) as c:
            c.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                      "ORDER BY ordinal_position", (self.datastore.schema, table))
            return [row["column_name"] for row in c.fetchall()]

    # -- the rebuild's hold on the views -------------------------------------------------------

    @cached_property
    def lock_keys(self) -> dict[str, int]:
        """The advisory locks on this schema's ``views`` and its ``rebuild``, by what they hold."""
        return {what: advisory_key(f"treaty-ledger {what} {self.datastore.schema}") for what in ("views", "rebuild")}

    def lock_key(self, what: str = "views") -> int:
        """The advisory lock on this schema's ``views`` (or its ``rebuild``), as a signed 64-bit number."""
        return self.lock_keys[what]

    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        # A connection kept for the whole rebuild (pool connections are in autocommit, so it
        # holds no transaction open): see held_for_rebuild.
        with self.datastore.get_connection() as conn, held_for_rebuild(
                conn, rebuild=self.lock_key("rebuild"), views=self.lock_key("views"), wait=self.rebuild_lock_wait):
            yield

    def wait_for_rebuild(self, stop: threading.Event | None = None) -> bool:
        while True:
            with self.datastore.get_connection() as conn:
                try:
                    lock_within(conn, "SELECT pg_advisory_xact_lock_shared(%s)", self.lock_key(), WAIT_STEP)
                    return True
                except psycopg.errors.LockNotAvailable:
                    pass
            if stop is not None and stop.is_set():
                return False

    def held_by_a_rebuild(self) -> bool:
        with self.cursor(commit=False) as c:
            return not views_free(c, self.lock_key())

    @contextmanager
    def write_cursor(self, *, few: bool = False) -> Iterator[Any]:
        with self.cursor(commit=True) as c, c.connection.pipeline() if few else nullcontext():
            if not views_free(c, self.lock_key()):
                raise RebuildInProgress("another process is rebuilding the views: it will apply this write's events")
            yield c

    # -- writing ---------------------------------------------------------------------------------

    @staticmethod
    def stamp(moment: datetime) -> Any:
        return moment

    @staticmethod
    def day(value: date | None) -> Any:
        return value

    def relax_durability(self, c: Any) -> None:
        c.execute("SET LOCAL synchronous_commit = off")

    def insist_on_durability(self, c: Any) -> None:
        # Back to the server's (or role's) own setting, which may be stronger than "on" (remote_apply).
        c.execute("SET LOCAL synchronous_commit TO DEFAULT")

    def write_rows(self, c: Any, rows: BatchRows) -> None:
        """Add the new rows by COPY and close the ended ones with one UPDATE: far fewer round trips than row by row.

        A few rows (one write's) go in multi-row INSERTs instead: one round trip where a COPY takes two.
        """
        if rows.treaties:
            c.executemany(self.q("INSERT INTO {tl_treaties} VALUES (?, ?, ?, ?)"), rows.treaties)
        copying = c.connection.pgconn.pipeline_status == pq.PipelineStatus.OFF  # COPY is not allowed in a pipeline
        self._store(c, "tl_records", RECORD_COLUMNS, rows.records, rows.packed_records, copying)
        if rows.closes:
            known_to, ids = zip(*rows.closes, strict=True)
            c.execute(
                self.q("UPDATE {tl_intervals} AS t SET known_to = v.known_to "
                       "FROM unnest(?::timestamptz[], ?::bigint[]) AS v(known_to, id) WHERE t.id = v.id AND t.known_to IS NULL"),
                (list(known_to), list(ids)),
            )
            if not copying:
                with c.connection.pipeline() as pipeline:
                    pipeline.sync()  # in a pipeline, the row count is known once the result is read
            self.check_closed(c.rowcount, len(rows.closes))
        self._store(c, "tl_intervals", INTERVAL_COLUMNS, rows.inserts, rows.packed_inserts, copying)

    def _store(self, c: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], packed: bytes, copying: bool) -> None:
        """Add ``rows`` (and COPY text ``packed``) to ``table``: a few, or any in a pipeline, with INSERTs; more with a COPY."""
        names = ", ".join(columns)
        if rows and not packed and (len(rows) <= _FEW or not copying):
            for start in range(0, len(rows), _FEW):
                chunk = rows[start : start + _FEW]
                values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
                c.execute(f"INSERT INTO {self.table(table)} ({names}) VALUES {values}", [value for row in chunk for value in row])
        elif rows or packed:
            with c.copy(f"COPY {self.table(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                copy.write(packed)
