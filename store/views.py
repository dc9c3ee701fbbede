"""Materialized views of the ledger, in the same database as its events.

A view is an eventsourcing ``TrackingRecorder``: each batch of rows is written in the same
transaction as the tracking record of the last event it applied, so a crash or a rebuild never
applies an event twice. Tables:

``tl_treaties``   one row per treaty: its rules and registration.
``tl_records``    every recorded event, flattened for the audit history and look-ups by id.
``tl_intervals``  the interval rows (:mod:`treaty_ledger.projections.intervals`), each valid over
                  ``[since, until)`` of effective dates and ``[known_from, known_to)`` of
                  recorded time. An as-of query is an index range scan on
                  ``(treaty, kind, since)``, filtered by ``until`` and the recorded-time range.

One implementation per backend (:class:`SQLiteLedgerView`, :class:`PostgresLedgerView`)
shares the SQL below; only types, placeholders, connections and locks differ.

A rebuild holds the views (:meth:`LedgerView.rebuilding`) from before it drops them until it
has loaded them again: meanwhile other processes' catch-ups write nothing
(:class:`RebuildInProgress`), and the rebuild's last catch-up applies what they recorded. On
PostgreSQL the hold is an advisory lock; on SQLite a ``flock`` on ``<database>-rebuild-lock``
beside the database file. Both go with the process that holds them, should it die.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL

from treaty_ledger.domain.dates import iso_day
from treaty_ledger.domain.errors import LedgerError
from treaty_ledger.domain.events import EVENT_TYPES, LEDGER_FIELDS, normalise_fields
from treaty_ledger.domain.records import Record, to_json_value
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.sources import normalise_source
from treaty_ledger.projections.intervals import Interval
from treaty_ledger.projections.projector import Change, Registration
from treaty_ledger.projections.read_model import TreatyRow

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite rebuilds then hold nothing against other processes
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "BatchRows",
    "LedgerView",
    "PostgresLedgerView",
    "RebuildInProgress",
    "Registration",
    "SQLiteLedgerView",
    "TreatyRow",
    "ViewsBusy",
    "record_from_json",
]


class RebuildInProgress(LedgerError):
    """Another process is rebuilding the views, so this one may not write them now.

    Nothing is lost: the rebuild applies every event recorded before it ends. Raised to a
    second rebuild, too, and to a catch-up (which then stops, having written nothing).
    """


class ViewsBusy(LedgerError):
    """A rebuild gave up waiting for writes in progress to end; it dropped nothing."""

_BEGINNING = date(1, 1, 1)

_WAIT_STEP = 0.25
"""Seconds between looks at whether a wait for a rebuild should stop."""

INTERVAL_COLUMNS = ("id", "treaty", "kind", "key", "since", "until", "known_from", "known_to", "doc")
"""The columns of ``tl_intervals``, in order (also how opening the views tells an older layout)."""

_CREATES = re.compile(r'CREATE (?:UNIQUE )?(?:TABLE|INDEX) IF NOT EXISTS (?:"[^"]+"\.)?(\w+)')
"""The name of the table or index a CREATE statement of the view makes."""
_INDEXED = re.compile(r" ON (\S+) \(")
"""The table a CREATE INDEX statement of the view indexes (as the statement names it)."""


def _created_names(statements: Iterable[str]) -> list[str]:
    return [match.group(1) for statement in statements if (match := _CREATES.match(statement))]


def _advisory_key(text: str) -> int:
    """A PostgreSQL advisory lock key (a signed 64-bit number) named by ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def _lock_within(conn: Any, statement: str, key: int, seconds: float) -> None:
    """Take advisory lock ``key`` with ``statement`` in a transaction of ``conn``, waiting at most ``seconds``.

    Raises ``psycopg.errors.LockNotAvailable`` when the wait runs out. A session lock stays
    held after the transaction; a transaction's lock is released at its end.
    """
    with conn.transaction():
        conn.execute(SQL("SET LOCAL lock_timeout = '{0}ms'").format(int(seconds * 1000)))
        conn.execute(statement, (key,))


def _date(value: Any) -> date | None:
    if value is None:
        return None
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return None if day == _BEGINNING else day


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@dataclass
class BatchRows:
    """What a batch writes, as table rows: new treaties and records, interval rows to insert and to close.

    Interval rows get their ids here. A row started and ended within the batch is inserted
    with both recorded-time bounds; a row stored by an earlier batch is closed by id.
    :meth:`pack` turns the records and inserts into PostgreSQL's COPY text (what a rebuild's
    workers send, so that the writing process only passes bytes on).
    """

    treaties: list[tuple[Any, ...]] = field(default_factory=list)
    records: list[tuple[Any, ...]] = field(default_factory=list)
    inserts: list[list[Any]] = field(default_factory=list)
    closes: list[tuple[Any, int]] = field(default_factory=list)
    packed_records: bytes = b""
    packed_inserts: bytes = b""

    @classmethod
    def of(cls, items: Iterable[Registration | Change], ids: Iterator[int], day: Callable[[date | None], Any],
           stamp: Callable[[datetime], Any]) -> BatchRows:
        """The rows of ``items``; new interval rows take their ids from ``ids``."""
        batch = cls()
        pending: dict[int, list[Any]] = {}

        def start(treaty: str, rows: Iterable[Interval], known_from: Any) -> None:
            for row in rows:
                row_id = next(ids)
                row.stored_as(row_id)
                entry = [row_id, treaty, row.kind, row.key, day(row.since or _BEGINNING), day(row.until), known_from, None, row.text]
                pending[row_id] = entry
                batch.inserts.append(entry)

        for item in items:
            if isinstance(item, Registration):
                batch.treaties.append((item.treaty, item.uuid, json.dumps(item.rules.to_json()), json.dumps(to_json_value(item.doc))))
                start(item.treaty, item.rows, stamp(item.recorded_at))
                continue
            r = item.record
            known = stamp(r.recorded_at)
            batch.records.append((r.treaty, r.sequence, r.id, r.type, day(r.date), r.state, known, r.to_json_text()))
            for row in item.ended:
                if not row.row_id:
                    raise ValueError(f"{r.treaty}: event {r.id} ends a {row.kind} row that was never stored")
                entry = pending.pop(row.row_id, None)
                if entry is not None:
                    entry[7] = known
                else:
                    batch.closes.append((known, row.row_id))
            start(r.treaty, item.started, known)
        return batch

    def extend(self, other: BatchRows) -> None:
        """Add ``other``'s rows (prepared with ids that do not collide with these)."""
        self.treaties += other.treaties
        self.records += other.records
        self.inserts += other.inserts
        self.closes += other.closes
        self.packed_records += other.packed_records
        self.packed_inserts += other.packed_inserts

    def pack(self) -> None:
        """Move the records and inserts into COPY text (PostgreSQL's ``COPY ... FROM STDIN`` format)."""
        self.packed_records += _copy_text(self.records)
        self.packed_inserts += _copy_text(self.inserts)
        self.records, self.inserts = [], []


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        # Four scans for the special characters cost far less than mapping every character.
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return value
    if type(value) is date:
        return iso_day(value)
    if isinstance(value, date):  # a timestamp (a datetime is a date)
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"cannot COPY a {type(value).__name__}")


def _copy_text(rows: Iterable[Sequence[Any]]) -> bytes:
    return "".join("\t".join(map(_copy_value, row)) + "\n" for row in rows).encode()


class LedgerView(TrackingRecorder):
    """The abstract view: what the projection writes and the queries read."""

    placeholder = "?"
    date_type = "TEXT"
    stamp_type = "TEXT"
    row_id_type = "INTEGER"
    copies_packed_rows = False
    """Whether this backend takes rows as COPY text (:meth:`BatchRows.pack`)."""
    rebuild_lock_wait = 30.0
    """Seconds a rebuild waits for writes in progress to end before giving up (:class:`ViewsBusy`)."""

    # -- names ---------------------------------------------------------------------------------

    @abstractmethod
    def table(self, name: str) -> str:
        """The qualified name of table ``name``."""

    @abstractmethod
    @contextmanager
    def cursor(self, *, commit: bool) -> Iterator[Any]:
        """A cursor in a transaction (committed at the end when ``commit``)."""

    @abstractmethod
    def tracking_table(self) -> str:
        """The qualified name of eventsourcing's (single-row) tracking table."""

    def write_tracking(self, c: Any, tracking: Tracking, previous: int | None) -> None:
        """Advance the tracking record from ``previous`` to ``tracking``, or fail.

        A compare-and-set in the transaction of ``c``: if another process has advanced the
        tracking record since ``previous`` was read, this raises and the whole batch rolls back,
        so no event is applied twice.
        """
        table = self.tracking_table()
        if previous is None:
            c.execute(self.q(f"INSERT INTO {table} (application_name, notification_id) VALUES (?, ?)"),
                      (tracking.application_name, tracking.notification_id))
            return
        c.execute(
            self.q(f"UPDATE {table} SET notification_id = ? WHERE application_name = ? AND notification_id = ? RETURNING notification_id"),
            (tracking.notification_id, tracking.application_name, previous),
        )
        if c.fetchone() is None:
            raise IntegrityError(f"tracking for {tracking.application_name} moved past {previous}: another process applied these events")

    def q(self, statement: str) -> str:
        """``statement`` with ``{name}`` tables qualified and ``?`` placeholders for this backend."""
        names = ("tl_treaties", "tl_records", "tl_intervals", "api_keys", "idempotency")
        text = statement.format(**{n: self.table(n) for n in names})
        return text.replace("?", self.placeholder)

    def view_statements(self) -> list[str]:
        """The CREATE statements of the view's tables and all their indexes."""
        return [*self.table_statements(), *self.apply_index_statements(), *self.read_index_statements(), *self.access_statements()]

    def table_statements(self) -> list[str]:
        """The view's tables (with their primary keys)."""
        d, s = self.date_type, self.stamp_type
        return [
            self.q("CREATE TABLE IF NOT EXISTS {tl_treaties} (treaty TEXT PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, rules TEXT NOT NULL, doc TEXT NOT NULL)"),
            self.q(
                f"CREATE TABLE IF NOT EXISTS {{tl_records}} (treaty TEXT NOT NULL, sequence INTEGER NOT NULL, id TEXT NOT NULL, "
                f"type TEXT NOT NULL, date {d}, state TEXT, recorded_at {s} NOT NULL, body TEXT NOT NULL, "
                "PRIMARY KEY (treaty, sequence))"
            ),
            self.q(
                f"CREATE TABLE IF NOT EXISTS {{tl_intervals}} (id {self.row_id_type} PRIMARY KEY, treaty TEXT NOT NULL, kind TEXT NOT NULL, "
                f"key TEXT NOT NULL, since {d} NOT NULL, until {d}, known_from {s} NOT NULL, known_to {s}, doc TEXT NOT NULL)"
            ),
        ]

    def apply_index_statements(self) -> list[str]:
        """The index applying events one treaty at a time needs (to load a treaty's current rows)."""
        return [self.q("CREATE INDEX IF NOT EXISTS tl_intervals_now ON {tl_intervals} (treaty, kind, since) WHERE known_to IS NULL")]

    def read_index_statements(self) -> list[str]:
        """Indexes only queries need: a rebuild creates them after loading, which is faster."""
        return [
            self.q("CREATE UNIQUE INDEX IF NOT EXISTS tl_records_id ON {tl_records} (id)"),
            self.q("CREATE INDEX IF NOT EXISTS tl_records_state ON {tl_records} (treaty, state, sequence)"),
            self.q("CREATE INDEX IF NOT EXISTS tl_intervals_known ON {tl_intervals} (treaty, kind, since, known_from)"),
        ]

    def access_statements(self) -> list[str]:
        """Tables that are not views (never dropped by a rebuild): API keys and idempotent responses."""
        s = self.stamp_type
        return [
            self.q(
                f"CREATE TABLE IF NOT EXISTS {{api_keys}} (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, "
                f"secret_hash TEXT NOT NULL, created_at {s} NOT NULL, revoked_at {s})"
            ),
            self.q(
                f"CREATE TABLE IF NOT EXISTS {{idempotency}} (key TEXT NOT NULL, scope TEXT NOT NULL, request_hash TEXT NOT NULL, "
                f"status INTEGER NOT NULL, response TEXT NOT NULL, created_at {s} NOT NULL, PRIMARY KEY (key, scope))"
            ),
        ]

    def relation_names(self) -> list[str]:
        """The tables and indexes the view's CREATE statements make (unqualified names)."""
        return _created_names(self.view_statements())

    def table_names(self) -> list[str]:
        """The tables (not the indexes) the view's CREATE statements make (unqualified names)."""
        return _created_names([*self.table_statements(), *self.access_statements()])

    def drop_statements(self) -> list[str]:
        """The DROP statements of the view's tables."""
        return [self.q(f"DROP TABLE IF EXISTS {{{name}}}") for name in ("tl_intervals", "tl_records", "tl_treaties")]

    # -- the rebuild's hold on the views -----------------------------------------------------------

    @abstractmethod
    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        """Hold the views for a rebuild: other processes' :meth:`write_batch` refuse meanwhile.

        Raises :class:`RebuildInProgress` at once when another rebuild holds the views, and
        :class:`ViewsBusy` when writes in progress have not ended after :attr:`rebuild_lock_wait`
        seconds. On PostgreSQL the request queues: later writes stand back while it waits. On
        SQLite (``flock`` has no queue) writes go on while it polls, and a second rebuild that
        starts while the first still waits also ends in :class:`ViewsBusy`.
        """

    @abstractmethod
    def wait_for_rebuild(self, stop: threading.Event | None = None) -> bool:
        """Return ``True`` once no rebuild holds the views (at once when none does), ``False`` once ``stop`` is set."""

    @abstractmethod
    def held_by_a_rebuild(self) -> bool:
        """Whether a rebuild holds the views now."""

    @abstractmethod
    @contextmanager
    def write_cursor(self) -> Iterator[Any]:
        """A cursor in a transaction committed at the end; :class:`RebuildInProgress` while a rebuild holds the views."""

    # -- writing -------------------------------------------------------------------------------

    def write_batch(self, items: Sequence[Registration | Change], tracking: Tracking, previous: int | None) -> None:
        """Store registrations, recorded events and their row changes, and the tracking record, atomically.

        Raises :class:`RebuildInProgress`, having written nothing, while another process rebuilds the views.
        """
        with self.write_cursor() as c:
            self.write_tracking(c, tracking, previous)
            # Only the writer that moved the tracking record gets here, so ids cannot collide.
            self.write_rows(c, BatchRows.of(items, itertools.count(self._max_row_id(c) + 1), self.day, self.stamp))

    @staticmethod
    def check_closed(closed: int, expected: int) -> None:
        """Fail the batch unless every row it ends was open: otherwise the rows it was computed from are not the stored ones."""
        if closed != expected:
            raise IntegrityError(
                f"the views changed under this process (closed {closed} of {expected} rows): it reloads them and tries again"
            )

    @staticmethod
    def rowcount(c: Any) -> int:
        """How many rows the last statement on ``c`` changed."""
        return int(c.rowcount)

    def max_row_id(self) -> int:
        """The highest interval row id stored (0 when there is none)."""
        with self.cursor(commit=False) as c:
            return self._max_row_id(c)

    def _max_row_id(self, c: Any) -> int:
        c.execute(self.q("SELECT COALESCE(MAX(id), 0) AS top FROM {tl_intervals}"))
        return int(c.fetchone()["top"])

    def write_prepared(self, rows: BatchRows, tracking: Tracking, previous: int | None) -> None:
        """Store rows prepared elsewhere (with their ids) and the tracking record, atomically.

        For a rebuild, which holds the views (:meth:`rebuilding`): no hold is checked here.
        """
        with self.cursor(commit=True) as c:
            self.relax_durability(c)
            self.write_tracking(c, tracking, previous)
            self.write_rows(c, rows)

    def relax_durability(self, c: Any) -> None:
        """Let this transaction commit before its log reaches the disk (a crash may undo it, whole)."""

    def write_rows(self, c: Any, rows: BatchRows) -> None:
        """Store a batch's rows in the transaction of ``c``."""
        if rows.treaties:
            c.executemany(self.q("INSERT INTO {tl_treaties} VALUES (?, ?, ?, ?)"), rows.treaties)
        if rows.records:
            c.executemany(self.q("INSERT INTO {tl_records} VALUES (?, ?, ?, ?, ?, ?, ?, ?)"), rows.records)
        if rows.closes:
            c.executemany(self.q("UPDATE {tl_intervals} SET known_to = ? WHERE id = ? AND known_to IS NULL"), rows.closes)
            self.check_closed(self.rowcount(c), len(rows.closes))
        if rows.inserts:
            c.executemany(self.q("INSERT INTO {tl_intervals} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"), rows.inserts)

    @staticmethod
    def stamp(moment: datetime) -> Any:
        """A recorded time as this backend stores it."""
        return _stamp(moment)

    @staticmethod
    def day(value: date | None) -> Any:
        """A date as this backend stores it."""
        return None if value is None else iso_day(value)

    def drop_views(self, application_name: str, *, apply_index: bool = True) -> None:
        """Drop the view's tables and forget what it tracked of ``application_name`` (for a rebuild).

        The tables come back empty, without the indexes only queries need (and, unless
        ``apply_index``, without the one applying events needs): load them, then call
        :meth:`create_indexes`. (Opening the view creates any that are missing.)
        """
        with self.cursor(commit=True) as c:
            # The tracking row first, as every write takes it first: a write in progress finishes
            # before the tables go, and later ones wait (then find the views moved and read them
            # again). Taking the tables first deadlocked with a write holding some of them.
            # Only this application's row: eventsourcing keeps a marker row in the same table.
            c.execute(self.q(f"DELETE FROM {self.tracking_table()} WHERE application_name = ?"), (application_name,))
            for statement in self.drop_statements():
                c.execute(statement)
            for statement in self.table_statements():
                c.execute(statement)
            if apply_index:
                for statement in self.apply_index_statements():
                    c.execute(statement)

    def create_indexes(self) -> None:
        """Create the indexes missing after a rebuild has loaded the tables.

        One transaction per index: each then locks one table only, so a process writing the
        views meanwhile waits for it, and never holds a lock it waits for (no deadlock).
        """
        self.run_each((*self.apply_index_statements(), *self.read_index_statements()))

    def run_each(self, statements: Iterable[str]) -> None:
        """Run each of ``statements`` in a transaction of its own."""
        for statement in statements:
            with self.cursor(commit=True) as c:
                c.execute(statement)

    def is_stale(self) -> bool:
        """Whether the interval table was laid out by an older version (the views must be rebuilt)."""
        columns = self.columns("tl_intervals")
        return bool(columns) and columns != list(INTERVAL_COLUMNS)

    @abstractmethod
    def columns(self, table: str) -> list[str]:
        """The columns of view table ``table``, in order (empty when it does not exist)."""

    # -- reading -------------------------------------------------------------------------------

    def rows_on(self, treaty: str, day: date, known_at: datetime | None, kinds: Sequence[str]) -> list[Interval]:
        """The rows of ``kinds`` holding on ``day``, as the ledger knew them at ``known_at`` (now when ``None``)."""
        marks = ", ".join("?" for _ in kinds)
        statement = f"SELECT id, kind, key, since, until, doc FROM {{tl_intervals}} WHERE treaty = ? AND kind IN ({marks}) AND since <= ? AND (until IS NULL OR until > ?) "
        params: list[Any] = [treaty, *kinds, self.day(day), self.day(day)]
        if known_at is None:
            statement += "AND known_to IS NULL"
        else:
            statement += "AND known_from <= ? AND (known_to IS NULL OR known_to > ?)"
            params += [self.stamp(known_at), self.stamp(known_at)]
        with self.cursor(commit=False) as c:
            c.execute(self.q(statement), params)
            return [self._interval(row) for row in c.fetchall()]

    @staticmethod
    def _interval(row: Any) -> Interval:
        return Interval(row["kind"], row["key"], _date(row["since"]), _date(row["until"]), json.loads(row["doc"]), row["id"], row["doc"])

    def current_rows(self, treaty: str) -> list[Interval]:
        """Every row the view currently holds for ``treaty``."""
        with self.cursor(commit=False) as c:
            c.execute(self.q("SELECT id, kind, key, since, until, doc FROM {tl_intervals} WHERE treaty = ? AND known_to IS NULL"), (treaty,))
            return [self._interval(row) for row in c.fetchall()]

    def treaty_row(self, treaty: str | None = None, *, uuid: str | None = None) -> TreatyRow | None:
        """The treaty (by slug or aggregate id) as the view holds it, or ``None``."""
        with self.cursor(commit=False) as c:
            if uuid is not None:
                c.execute(self.q("SELECT treaty, rules, doc FROM {tl_treaties} WHERE uuid = ?"), (uuid,))
            else:
                c.execute(self.q("SELECT treaty, rules, doc FROM {tl_treaties} WHERE treaty = ?"), (treaty,))
            row = c.fetchone()
        if row is None:
            return None
        return TreatyRow(row["treaty"], TreatyRules.from_input(json.loads(row["rules"])), json.loads(row["doc"]))

    def treaty_rows(self) -> list[TreatyRow]:
        """Every treaty the view holds, by id."""
        with self.cursor(commit=False) as c:
            c.execute(self.q("SELECT treaty, rules, doc FROM {tl_treaties} ORDER BY treaty"))
            return [TreatyRow(r["treaty"], TreatyRules.from_input(json.loads(r["rules"])), json.loads(r["doc"])) for r in c.fetchall()]

    def records(self, treaty: str, *, after: int = 0, limit: int | None = None, state: str | None = None,
                types: Sequence[str] = (), start: date | None = None, end: date | None = None,
                known_at: datetime | None = None) -> list[Record]:
        """A treaty's recorded events in recorded order, filtered, from sequence ``after`` on."""
        statement = "SELECT body FROM {tl_records} WHERE treaty = ? AND sequence > ? "
        params: list[Any] = [treaty, after]
        if state is not None:
            statement += "AND state = ? "
            params.append(state)
        if types:
            statement += f"AND type IN ({', '.join('?' for _ in types)}) "
            params += list(types)
        if start is not None:
            statement += "AND date >= ? "
            params.append(self.day(start))
        if end is not None:
            statement += "AND date <= ? "
            params.append(self.day(end))
        if known_at is not None:
            statement += "AND recorded_at <= ? "
            params.append(self.stamp(known_at))
        statement += "ORDER BY sequence"
        if limit is not None:
            statement += " LIMIT ?"
            params.append(limit)
        with self.cursor(commit=False) as c:
            c.execute(self.q(statement), params)
            return [record_from_json(json.loads(row["body"])) for row in c.fetchall()]

    def record_by_id(self, event_id: str) -> Record | None:
        """The recorded event with ``event_id``, in whichever treaty holds it."""
        with self.cursor(commit=False) as c:
            c.execute(self.q("SELECT body FROM {tl_records} WHERE id = ?"), (event_id,))
            row = c.fetchone()
        return None if row is None else record_from_json(json.loads(row["body"]))

    def records_naming(self, treaty: str, event_id: str) -> list[Record]:
        """The corrections and retractions of a treaty that name ``event_id``."""
        return [
            r for r in self.records(treaty, types=("correction", "retraction"))
            if event_id in (r.fields.get("corrects"), r.fields.get("retracts"))
        ]


def record_from_json(body: dict[str, Any]) -> Record:
    """A :class:`Record` from the JSON the API answers with (``Record.to_json``)."""
    fields = {k: v for k, v in body.items() if k not in ("type", "date", "source", *LEDGER_FIELDS)}
    spec = EVENT_TYPES[body["type"]]
    return Record(
        id=body["id"],
        treaty=body["treaty"],
        sequence=body["sequence"],
        type=body["type"],
        date=date.fromisoformat(body["date"]) if body.get("date") else None,
        fields=normalise_fields(spec, fields, partial=True),
        source=normalise_source(body["source"]),
        recorded_at=_as_datetime(body["recorded_at"]),
        prev_hash=body["prev_hash"],
        hash=body["hash"],
    )


class SQLiteLedgerView(LedgerView, SQLiteTrackingRecorder):
    """The view in the SQLite file that holds the events."""

    def construct_create_table_statements(self) -> list[str]:
        """eventsourcing's tracking table, and the view's tables."""
        return [*super().construct_create_table_statements(), *self.view_statements()]

    def table(self, name: str) -> str:
        return name

    @contextmanager
    def cursor(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as c:
            yield c

    def tracking_table(self) -> str:
        return "tracking"

    @cached_property
    def lock_path(self) -> str | None:
        """The file a rebuild locks, beside the database file (``None`` in memory: one process only).

        The database's real path, so that every name for one file (a symlink, a ``file:`` URI)
        finds the same lock.
        """
        pool = self.datastore.pool
        if pool.is_sqlite_memory_mode or fcntl is None:
            return None
        name = pool.db_name
        if name.startswith("file:"):
            name = unquote(urlsplit(name).path)
        return f"{os.path.realpath(name)}-rebuild-lock"

    @contextmanager
    def _locked(self, *, exclusive: bool, wait: float) -> Iterator[bool]:
        """``flock`` the rebuild lock file, shared or exclusive; yield whether it was taken within ``wait`` seconds."""
        if self.lock_path is None:
            yield True
            return
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
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

    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        if self.held_by_a_rebuild():  # only a rebuild holds the lock exclusively
            raise RebuildInProgress(f"another process is rebuilding the views (it holds {self.lock_path})")
        # flock has no queue: writes go on while the rebuild polls for the moment none is in
        # progress (each holds the lock shared for one batch).
        with self._locked(exclusive=True, wait=self.rebuild_lock_wait) as taken:
            if not taken:
                raise ViewsBusy(f"writes to the views were still in progress after {self.rebuild_lock_wait:g} s "
                                f"(or another rebuild began); nothing was dropped")
            yield

    def wait_for_rebuild(self, stop: threading.Event | None = None) -> bool:
        while True:
            with self._locked(exclusive=False, wait=_WAIT_STEP) as free:
                if free:
                    return True
            if stop is not None and stop.is_set():
                return False

    def held_by_a_rebuild(self) -> bool:
        with self._locked(exclusive=False, wait=0) as free:
            return not free

    @contextmanager
    def write_cursor(self) -> Iterator[Any]:
        with self._locked(exclusive=False, wait=0) as taken:
            if not taken:
                raise RebuildInProgress("another process is rebuilding the views: it will apply this write's events")
            with self.cursor(commit=True) as c:
                yield c

    @staticmethod
    def rowcount(c: Any) -> int:
        return int(c.sqlite_cursor.rowcount)  # eventsourcing's SQLiteCursor wraps sqlite3's

    def columns(self, table: str) -> list[str]:
        with self.cursor(commit=False) as c:
            c.execute(f"PRAGMA table_info({table})")
            return [row["name"] for row in c.fetchall()]


class PostgresLedgerView(LedgerView, PostgresTrackingRecorder):
    """The view in the PostgreSQL database (and schema) that holds the events."""

    placeholder = "%s"
    date_type = "DATE"
    stamp_type = "TIMESTAMPTZ"
    row_id_type = "BIGINT"
    copies_packed_rows = True

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(SQL(s).format() for s in self.view_statements())
        self._lock_keys = {what: _advisory_key(f"treaty-ledger {what} {self.datastore.schema}") for what in ("views", "rebuild")}

    def create_indexes(self) -> None:
        """Create the indexes missing after a rebuild, each table's on a connection of its own, at once.

        Still one transaction per index (see :meth:`LedgerView.create_indexes`); the two
        tables' indexes are built side by side, which takes a rebuild's last second to half.
        """
        by_table: dict[str, list[str]] = {}
        for statement in (*self.apply_index_statements(), *self.read_index_statements()):
            table = _INDEXED.search(statement)
            by_table.setdefault(table.group(1) if table else "", []).append(statement)
        with ThreadPoolExecutor(max_workers=len(by_table), thread_name_prefix="treaty-ledger-index") as pool:
            for built in [pool.submit(self.run_each, statements) for statements in by_table.values()]:
                built.result()

    def create_table(self) -> None:
        """Create the tables and indexes; when the tables are there, run no DDL but missing indexes.

        ``CREATE INDEX IF NOT EXISTS`` locks its table even when the index exists, and
        eventsourcing runs all the CREATE statements in one transaction. A process opening the
        views beside a worker in the middle of a write therefore waited for the worker on one
        table while holding a lock on another the worker needed next: PostgreSQL reported a
        deadlock. With the tables in place (every start but the first), only the catalog and
        eventsourcing's tracking marker are read, and indexes a rebuild left uncreated (it
        stopped before the end) are made one transaction each (:meth:`create_indexes`).
        """
        missing = self._missing_relations()
        if self.datastore.single_row_tracking and missing is not None and not missing & set(self.table_names()):
            self.tracking_table_exists = True
            self.tracking_migration_current = self.tracking_migration_previous = 1
            self.datastore.register_type_adapters()
            if missing and not self.held_by_a_rebuild():  # a rebuild creates them when it has loaded the tables
                self.create_indexes()
            return
        super().create_table()

    def held_by_a_rebuild(self) -> bool:
        with self.cursor(commit=False) as c:
            return not self._views_free(c)

    def _views_free(self, c: Any) -> bool:
        """Take the views' lock shared until the end of the transaction of ``c``, unless a rebuild holds it."""
        c.execute("SELECT pg_try_advisory_xact_lock_shared(%s) AS free", (self.lock_key(),))
        return bool(c.fetchone()["free"])

    def _missing_relations(self) -> set[str] | None:
        """The view's tables and indexes not in the schema; ``None`` without eventsourcing's tracking table and marker."""
        names = self.relation_names()
        with self.cursor(commit=False) as c:
            c.execute("SELECT r.relname FROM pg_class r JOIN pg_namespace s ON s.oid = r.relnamespace "
                      "WHERE s.nspname = %s AND r.relname = ANY(%s)", (self.datastore.schema, [self.tracking_table_name, *names]))
            found = {row["relname"] for row in c.fetchall()}
        if self.tracking_table_name not in found or self.max_tracking_id(self.table_migration_identifier) is None:
            return None
        return set(names) - found

    def table(self, name: str) -> str:
        return f'"{self.datastore.schema}".{name}'

    @contextmanager
    def cursor(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as c:
            yield c

    def tracking_table(self) -> str:
        return f'"{self.datastore.schema}"."{self.tracking_table_name}"'

    def lock_key(self, what: str = "views") -> int:
        """The advisory lock on this schema's ``views`` (or its ``rebuild``), as a signed 64-bit number."""
        return self._lock_keys[what]

    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        # Session locks on a connection kept for the whole rebuild (pool connections are in
        # autocommit, so it holds no transaction open). The ``rebuild`` lock tells another
        # rebuild at once; the ``views`` lock, which writers take shared for one transaction
        # each, is then awaited: the exclusive request queues behind the writes in progress and
        # makes later ones fail their try, so a busy API cannot starve a rebuild.
        rebuild, views = self.lock_key("rebuild"), self.lock_key("views")
        with self.datastore.get_connection() as conn:
            if not conn.execute("SELECT pg_try_advisory_lock(%s) AS taken", (rebuild,)).fetchone()["taken"]:  # type: ignore[index]
                raise RebuildInProgress("another process is rebuilding the views (it holds their rebuild lock)")
            try:
                try:
                    _lock_within(conn, "SELECT pg_advisory_lock(%s)", views, self.rebuild_lock_wait)
                except psycopg.errors.LockNotAvailable:
                    raise ViewsBusy(f"writes to the views were still in progress after {self.rebuild_lock_wait:g} s; "
                                    "nothing was dropped") from None
                try:
                    yield
                finally:
                    with suppress(psycopg.Error):  # a lost connection has released the lock already
                        conn.execute("SELECT pg_advisory_unlock(%s)", (views,))
            finally:
                with suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s)", (rebuild,))

    def wait_for_rebuild(self, stop: threading.Event | None = None) -> bool:
        while True:
            with self.datastore.get_connection() as conn:
                try:
                    _lock_within(conn, "SELECT pg_advisory_xact_lock_shared(%s)", self.lock_key(), _WAIT_STEP)
                    return True
                except psycopg.errors.LockNotAvailable:
                    pass
            if stop is not None and stop.is_set():
                return False

    @contextmanager
    def write_cursor(self) -> Iterator[Any]:
        with self.cursor(commit=True) as c:
            if not self._views_free(c):
                raise RebuildInProgress("another process is rebuilding the views: it will apply this write's events")
            yield c

    def columns(self, table: str) -> list[str]:
        with self.cursor(commit=False) as c:
            c.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                      "ORDER BY ordinal_position", (self.datastore.schema, table))
            return [row["column_name"] for row in c.fetchall()]

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
