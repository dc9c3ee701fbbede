"""The materialized views of the ledger, in the same database as its events: what they write and read.

A view is an eventsourcing ``TrackingRecorder``: each batch of rows is written in the same
transaction as the tracking record of the last event it applied, so a crash or a rebuild never
applies an event twice. Tables:

``tl_treaties``   one row per treaty: its rules and registration.
``tl_records``    every recorded event, flattened for the audit history and look-ups by id.
``tl_intervals``  the interval rows (:mod:`treaty_ledger.projections.intervals`), each valid over
                  ``[since, until)`` of effective dates and ``[known_from, known_to)`` of
                  recorded time. An as-of query of what is known now is an index range scan on
                  ``(treaty, kind, since)`` of the rows not superseded, filtered by ``until``
                  (which the index holds: SQLite checks it there); as known at an earlier time, a
                  range scan on ``(treaty, kind, known_from, since)`` filtered by ``since``,
                  ``until`` and ``known_to``.

:class:`LedgerView` is the abstract view; one implementation per backend
(:class:`~treaty_ledger.store.sqlite_views.SQLiteLedgerView`,
:class:`~treaty_ledger.store.postgres_views.PostgresLedgerView`) shares its SQL
(:mod:`treaty_ledger.store.view_sql`); only types, placeholders, connections and locks differ.

A rebuild holds the views (:meth:`LedgerView.rebuilding`) from before it drops them until it
has loaded them again: meanwhile other processes' catch-ups write nothing
(:class:`~treaty_ledger.store.view_locks.RebuildInProgress`), and the rebuild's last catch-up
applies what they recorded (:mod:`treaty_ledger.store.view_locks`).
"""

from __future__ import annotations

import itertools
import json
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Tracking, TrackingRecorder

from treaty_ledger.domain.dates import iso_day
from treaty_ledger.domain.events import EVENT_TYPES, LEDGER_FIELDS, normalise_fields
from treaty_ledger.domain.records import Record
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.sources import normalise_source
from treaty_ledger.projections.intervals import Interval
from treaty_ledger.projections.projector import Change, Registration
from treaty_ledger.projections.read_model import TreatyRow
from treaty_ledger.store.view_rows import BEGINNING, BatchRows
from treaty_ledger.store.view_sql import INTERVAL_COLUMNS, ViewStatements

__all__ = ["LedgerView", "record_from_json"]

_FEW_EVENTS = 8
"""A batch of at most this many events (one write's) may have its statements sent together (:meth:`LedgerView.write_cursor`)."""

T = TypeVar("T")


def _date(value: Any) -> date | None:
    if value is None:
        return None
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return None if day == BEGINNING else day


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def stored_moment(value: Any) -> datetime:
    """A time as the store gives it back: a ``datetime`` from PostgreSQL, ISO 8601 text from SQLite."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class LedgerView(ViewStatements, TrackingRecorder):
    """The abstract view: what the projection writes and the queries read."""

    copies_packed_rows = False
    """Whether this backend takes rows as COPY text (:meth:`BatchRows.pack`)."""
    _next_row: tuple[int, int] | None = None
    """The tracking position this process's last batch left and the next row id after its rows: the
    next batch from that position needs no ``MAX(id)`` read. Any other writer moves the tracking
    record first (the batch's compare-and-set fails); a rebuild forgets it (:meth:`drop_views`).
    A rebuild in another process that ends where this process left the views numbers its rows from
    the old ``MAX(id)`` + 1, the id kept here: this process's next batch then fails on its first new
    row (or on a row it closes by an old id) and is tried again, reading the rows and ``MAX(id)``
    back (tested in ``test_views_catch_up_before_answering.py``)."""
    rebuild_lock_wait = 30.0
    """Seconds a rebuild waits for writes in progress to end before giving up (:class:`~treaty_ledger.store.view_locks.ViewsBusy`)."""

    # -- names ---------------------------------------------------------------------------------

    @abstractmethod
    @contextmanager
    def cursor(self, *, commit: bool) -> Iterator[Any]:
        """A cursor in a transaction (committed at the end when ``commit``)."""

    @abstractmethod
    def tracking_table(self) -> str:
        """The qualified name of eventsourcing's (single-row) tracking table."""

    def positions(self, application_name: str, recorder: ApplicationRecorder) -> tuple[int | None, int | None]:
        """The views' tracking position for ``application_name`` and ``recorder``'s last notification id.

        Read before every answer (:meth:`~treaty_ledger.store.projection.LedgerProjection.standing`).
        A backend whose views sit beside the events may read both in one statement.
        """
        return self.max_tracking_id(application_name), recorder.max_notification_id()

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

    # -- the rebuild's hold on the views -----------------------------------------------------------

    @abstractmethod
    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        """Hold the views for a rebuild: other processes' :meth:`write_batch` refuse meanwhile.

        Raises :class:`~treaty_ledger.store.view_locks.RebuildInProgress` at once when another rebuild holds the views, and
        :class:`~treaty_ledger.store.view_locks.ViewsBusy` when writes in progress have not ended after :attr:`rebuild_lock_wait`
        seconds. On PostgreSQL the request queues: later writes stand back while it waits. On
        SQLite (``flock`` has no queue) writes go on while it polls, and a second rebuild that
        starts while the first still waits also ends in :class:`~treaty_ledger.store.view_locks.ViewsBusy`.
        """

    @abstractmethod
    def wait_for_rebuild(self, stop: threading.Event | None = None) -> bool:
        """Return ``True`` once no rebuild holds the views (at once when none does), ``False`` once ``stop`` is set."""

    @abstractmethod
    def held_by_a_rebuild(self) -> bool:
        """Whether a rebuild holds the views now."""

    @abstractmethod
    @contextmanager
    def write_cursor(self, *, few: bool = False) -> Iterator[Any]:
        """A cursor in a transaction committed at the end; :class:`~treaty_ledger.store.view_locks.RebuildInProgress` while a rebuild holds the views.

        ``few``: the transaction writes a few events' rows (one write's): a backend may send its statements
        without waiting for each answer (PostgreSQL's pipeline mode, which hung on batches of
        megabytes: psycopg issue #685).
        """

    # -- writing -------------------------------------------------------------------------------

    def write_batch(self, items: Sequence[Registration | Change], tracking: Tracking, previous: int | None,
                    also: Callable[[Any], T] | None = None) -> T | None:
        """Store registrations, recorded events and their row changes, and the tracking record, atomically.

        ``also`` writes more in the same transaction (the Merkle tree's leaves); its result is returned.
        Raises :class:`~treaty_ledger.store.view_locks.RebuildInProgress`, having written nothing, while another process rebuilds the views.
        """
        next_row, self._next_row = self._next_row, None  # forgotten unless this batch commits
        with self.write_cursor(few=len(items) <= _FEW_EVENTS) as c:
            self.relax_durability(c)  # the events, committed before, are durable: these rows are derived from them
            self.write_tracking(c, tracking, previous)
            # Only the writer that moved the tracking record gets here, so ids cannot collide.
            ids = itertools.count(next_row[1] if next_row is not None and next_row[0] == previous else self._max_row_id(c) + 1)
            self.write_rows(c, BatchRows.of(items, ids, self.day, self.stamp))
            done = also(c) if also is not None else None
        self._next_row = (tracking.notification_id, next(ids))
        return done

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
        """Let this transaction commit before its log reaches the disk (a crash of the database may undo it, whole).

        For what the events determine alone: the views' rows, tracking record and Merkle
        tree nodes, which the next catch-up applies again from the (durable) events when a
        crash undid them. What is not derived, a signed checkpoint, asks for its commit to be
        durable again (:meth:`insist_on_durability`).
        """

    def insist_on_durability(self, c: Any) -> None:
        """Give this transaction's commit the durability the database is set to (at least its log on disk), even after :meth:`relax_durability`."""

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

    # -- the tables ------------------------------------------------------------------------------

    def create_views(self) -> None:
        """Create the view's tables and indexes (and the key and idempotency tables) that are missing.

        Ours, beside eventsourcing's ``create_table`` (which creates its tracking table only):
        the wiring calls it when it opens the views. Here, every statement in one transaction
        (each is ``IF NOT EXISTS``).
        """
        with self.cursor(commit=True) as c:
            for statement in self.view_statements():
                c.execute(statement)

    def drop_views(self, application_name: str, *, apply_index: bool = True) -> None:
        """Drop the view's tables and forget what it tracked of ``application_name`` (for a rebuild).

        The tables come back empty, without the indexes only queries need (and, unless
        ``apply_index``, without the one applying events needs): load them, then call
        :meth:`create_indexes`. (Opening the view creates any that are missing.)
        """
        self._next_row = None
        with self.cursor(commit=True) as c:
            # The tracking row first, as every write takes it first: a write in progress finishes
            # before the tables go, and later ones wait (then find the views moved and read them
            # again). Taking the tables first deadlocked with a write holding some of them.
            # Only this application's row: eventsourcing keeps a marker row in the same table.
            c.execute(self.q(f"DELETE FROM {self.tracking_table()} WHERE application_name = ?"), (application_name,))
            with self.dropping(c):
                for statement in self.drop_statements():
                    c.execute(statement)
            for statement in self.table_statements():
                c.execute(statement)
            if apply_index:
                for statement in self.apply_index_statements():
                    c.execute(statement)

    @contextmanager
    def dropping(self, c: Any) -> Iterator[None]:
        """Around the DROP statements of :meth:`drop_views`, in its transaction: a backend may make dropping cheaper there."""
        yield

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
        return self._read(*self.rows_on_query(treaty, day, known_at, kinds))

    def rows_on_query(self, treaty: str, day: date, known_at: datetime | None, kinds: Sequence[str]) -> tuple[str, list[Any]]:
        """The statement :meth:`rows_on` runs, and its values (what an EXPLAIN of an as-of read asks about)."""
        return self._query(treaty, kinds, known_at, "AND since <= ? AND (until IS NULL OR until > ?) ", [self.day(day), self.day(day)])

    def rows_known(self, treaty: str, known_at: datetime | None, kinds: Sequence[str]) -> list[Interval]:
        """Every row of ``kinds`` over all effective dates, as the ledger knew them at ``known_at`` (now when ``None``): a timeline."""
        return self._read(*self._query(treaty, kinds, known_at, "", [], order=" ORDER BY kind, key, since"))

    def _query(self, treaty: str, kinds: Sequence[str], known_at: datetime | None, where: str, params: list[Any], *,
               order: str = "") -> tuple[str, list[Any]]:
        """The statement reading the rows of ``kinds`` that also meet ``where`` (its ``params``), as known at ``known_at`` (now when ``None``)."""
        marks = ", ".join("?" for _ in kinds)
        statement = f"SELECT id, kind, key, since, until, doc FROM {{tl_intervals}} WHERE treaty = ? AND kind IN ({marks}) {where}"
        values: list[Any] = [treaty, *kinds, *params]
        if known_at is None:
            statement += "AND known_to IS NULL"
        else:
            statement += "AND known_from <= ? AND (known_to IS NULL OR known_to > ?)"
            values += [self.stamp(known_at), self.stamp(known_at)]
        return self.q(statement + order), values

    def _read(self, statement: str, values: list[Any]) -> list[Interval]:
        """The interval rows ``statement`` reads."""
        with self.cursor(commit=False) as c:
            c.execute(statement, values)
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
                known_at: datetime | None = None, newest_first: bool = False) -> list[Record]:
        """A treaty's recorded events in recorded order (or the newest first), filtered, from sequence ``after`` on."""
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
        statement += "ORDER BY sequence DESC" if newest_first else "ORDER BY sequence"
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

    def records_by_id(self, event_ids: Sequence[str]) -> dict[str, Record]:
        """The recorded events with ``event_ids`` (those the views hold), by id, read 500 at a time."""
        found: dict[str, Record] = {}
        with self.cursor(commit=False) as c:
            for start in range(0, len(event_ids), 500):
                chunk = list(event_ids[start : start + 500])
                c.execute(self.q(f"SELECT body FROM {{tl_records}} WHERE id IN ({', '.join('?' for _ in chunk)})"), chunk)
                found.update((r.id, r) for r in (record_from_json(json.loads(row["body"])) for row in c.fetchall()))
        return found

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
        recorded_at=stored_moment(body["recorded_at"]),
        prev_hash=body["prev_hash"],
        hash=body["hash"],
    )


