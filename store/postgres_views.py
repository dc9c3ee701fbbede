"""The materialized views in the PostgreSQL database (and schema) that holds the events.

Rows are written with COPY, and ended rows closed with one UPDATE per batch; a rebuild holds
the views with advisory locks named after the schema (:mod:`treaty_ledger.store.view_locks`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime
from functools import cached_property
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresTrackingRecorder

from treaty_ledger.store.view_locks import (
    WAIT_STEP,
    RebuildInProgress,
    advisory_key,
    held_for_rebuild,
    lock_within,
    views_free,
)
from treaty_ledger.store.view_rows import BatchRows
from treaty_ledger.store.view_sql import INTERVAL_COLUMNS, indexed_table
from treaty_ledger.store.views import LedgerView

__all__ = ["PostgresLedgerView"]


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
        has loaded the tables).
        """
        missing = self.missing_relations()
        if missing & set(self.table_names()):
            super().create_views()
        elif missing and not self.held_by_a_rebuild():
            self.create_indexes()

    def missing_relations(self) -> set[str]:
        """The view's tables and indexes not in the schema (unqualified names)."""
        names = self.relation_names()
        with self.cursor(commit=False) as c:
            c.execute("SELECT r.relname FROM pg_class r JOIN pg_namespace s ON s.oid = r.relnamespace "
                      "WHERE s.nspname = %s AND r.relname = ANY(%s)", (self.datastore.schema, names))
            found = {row["relname"] for row in c.fetchall()}
        return set(names) - found

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
        with self.datastore.transaction(commit=commit) as c:
            yield c

    def tracking_table(self) -> str:
        return f'"{self.datastore.schema}"."{self.tracking_table_name}"'

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
    def write_cursor(self) -> Iterator[Any]:
        with self.cursor(commit=True) as c:
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

    def write_rows(self, c: Any, rows: BatchRows) -> None:
        """COPY the new rows and close the ended ones with one UPDATE: far fewer round trips than row by row."""
        if rows.treaties:
            c.executemany(self.q("INSERT INTO {tl_treaties} VALUES (?, ?, ?, ?)"), rows.treaties)
        if rows.records or rows.packed_records:
            with c.copy(self.q("COPY {tl_records} (treaty, sequence, id, type, date, state, recorded_at, body) FROM STDIN")) as copy:
                for record in rows.records:
                    copy.write_row(record)
                copy.write(rows.packed_records)
        if rows.closes:
            known_to, ids = zip(*rows.closes, strict=True)
            c.execute(
                self.q("UPDATE {tl_intervals} AS t SET known_to = v.known_to "
                       "FROM unnest(?::timestamptz[], ?::bigint[]) AS v(known_to, id) WHERE t.id = v.id AND t.known_to IS NULL"),
                (list(known_to), list(ids)),
            )
            self.check_closed(c.rowcount, len(rows.closes))
        if rows.inserts or rows.packed_inserts:
            with c.copy(self.q(f"COPY {{tl_intervals}} ({', '.join(INTERVAL_COLUMNS)}) FROM STDIN")) as copy:
                for row in rows.inserts:
                    copy.write_row(row)
                copy.write(rows.packed_inserts)
