"""Materialized views of the ledger, in the same database as its events.

A view is an eventsourcing ``TrackingRecorder``: each batch of rows is written in the same
transaction as the tracking record of the last event it applied, so a crash or a rebuild never
applies an event twice. Tables:

``tl_treaties``   one row per treaty: its rules and registration.
``tl_records``    every recorded event, flattened for the audit history and look-ups by id.
``tl_intervals``  the interval rows (:mod:`projections.intervals`), each valid over
                  ``[since, until)`` of effective dates and ``[known_from, known_to)`` of
                  recorded time. An as-of query is an index range scan on
                  ``(treaty, kind, since)``, filtered by ``until`` and the recorded-time range.

One implementation per backend (:class:`SQLiteLedgerView`, :class:`PostgresLedgerView`)
shares the SQL below; only types, placeholders and connections differ.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder

from domain.records import Record, to_json_value
from domain.rules import TreatyRules
from projections.engine import Change
from projections.intervals import Interval

__all__ = ["LedgerView", "PostgresLedgerView", "Registration", "SQLiteLedgerView", "TreatyRow", "record_from_json"]

_BEGINNING = date(1, 1, 1)


def _date(value: Any) -> date | None:
    if value is None:
        return None
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return None if day == _BEGINNING else day


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class Registration:
    """A newly registered treaty and its first rows."""

    treaty: str
    uuid: str
    rules: TreatyRules
    doc: dict[str, Any]
    rows: list[Interval]
    recorded_at: datetime


class TreatyRow:
    """A treaty as the view holds it."""

    def __init__(self, treaty: str, rules: TreatyRules, doc: dict[str, Any]) -> None:
        self.treaty = treaty
        self.rules = rules
        self.doc = doc


class LedgerView(TrackingRecorder):
    """The abstract view: what the projection writes and the queries read."""

    placeholder = "?"
    date_type = "TEXT"
    stamp_type = "TEXT"

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
        """The CREATE statements of the view's tables and indexes."""
        d, s = self.date_type, self.stamp_type
        return [
            self.q("CREATE TABLE IF NOT EXISTS {tl_treaties} (treaty TEXT PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, rules TEXT NOT NULL, doc TEXT NOT NULL)"),
            self.q(
                f"CREATE TABLE IF NOT EXISTS {{tl_records}} (treaty TEXT NOT NULL, sequence INTEGER NOT NULL, id TEXT NOT NULL, "
                f"type TEXT NOT NULL, date {d}, state TEXT, recorded_at {s} NOT NULL, body TEXT NOT NULL, "
                "PRIMARY KEY (treaty, sequence))"
            ),
            self.q("CREATE UNIQUE INDEX IF NOT EXISTS tl_records_id ON {tl_records} (id)"),
            self.q("CREATE INDEX IF NOT EXISTS tl_records_state ON {tl_records} (treaty, state, sequence)"),
            self.q(
                f"CREATE TABLE IF NOT EXISTS {{tl_intervals}} (treaty TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, "
                f"since {d} NOT NULL, until {d}, known_from {s} NOT NULL, known_to {s}, digest TEXT NOT NULL, doc TEXT NOT NULL)"
            ),
            self.q("CREATE INDEX IF NOT EXISTS tl_intervals_now ON {tl_intervals} (treaty, kind, since) WHERE known_to IS NULL"),
            self.q("CREATE INDEX IF NOT EXISTS tl_intervals_known ON {tl_intervals} (treaty, kind, since, known_from)"),
            self.q("CREATE INDEX IF NOT EXISTS tl_intervals_digest ON {tl_intervals} (treaty, digest) WHERE known_to IS NULL"),
            # Not views (never dropped by a rebuild): API keys and idempotent responses.
            self.q(
                f"CREATE TABLE IF NOT EXISTS {{api_keys}} (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, "
                f"secret_hash TEXT NOT NULL, created_at {s} NOT NULL, revoked_at {s})"
            ),
            self.q(
                f"CREATE TABLE IF NOT EXISTS {{idempotency}} (key TEXT NOT NULL, scope TEXT NOT NULL, request_hash TEXT NOT NULL, "
                f"status INTEGER NOT NULL, response TEXT NOT NULL, created_at {s} NOT NULL, PRIMARY KEY (key, scope))"
            ),
        ]

    def drop_statements(self) -> list[str]:
        """The DROP statements of the view's tables."""
        return [self.q(f"DROP TABLE IF EXISTS {{{name}}}") for name in ("tl_intervals", "tl_records", "tl_treaties")]

    # -- writing -------------------------------------------------------------------------------

    def write_batch(self, items: Sequence[Registration | Change], tracking: Tracking, previous: int | None) -> None:
        """Store registrations, recorded events and their row changes, and the tracking record, atomically."""
        with self.cursor(commit=True) as c:
            self.write_tracking(c, tracking, previous)
            changes: list[Change] = []
            for item in items:
                if isinstance(item, Registration):
                    self.write_changes(c, changes)
                    changes = []
                    c.execute(self.q("INSERT INTO {tl_treaties} VALUES (?, ?, ?, ?)"),
                              (item.treaty, item.uuid, json.dumps(item.rules.to_json()), json.dumps(to_json_value(item.doc))))
                    self._insert_rows(c, item.treaty, item.rows, item.recorded_at)
                else:
                    changes.append(item)
            self.write_changes(c, changes)

    def write_changes(self, c: Any, changes: Sequence[Change]) -> None:
        """Store ``changes`` in the transaction of ``c``."""
        if not changes:
            return
        c.executemany(
            self.q("INSERT INTO {tl_records} VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            [
                (r.treaty, r.sequence, r.id, r.type, self.day(r.date), r.state, self.stamp(r.recorded_at), json.dumps(r.to_json()))
                for r in (change.record for change in changes)
            ],
        )
        # Rows started and ended within this batch are inserted with both recorded-time bounds;
        # rows started before it are closed with an UPDATE.
        open_rows: dict[tuple[str, str], list[Any]] = {}
        inserts: list[list[Any]] = []
        closes: list[tuple[Any, str, str]] = []
        for change in changes:
            stamp = self.stamp(change.record.recorded_at)
            treaty = change.record.treaty
            for row in change.ended:
                key = (treaty, row.digest)
                pending = open_rows.pop(key, None)
                if pending is not None:
                    pending[6] = stamp
                else:
                    closes.append((stamp, treaty, key[1]))
            for row in change.started:
                digest = row.digest
                entry = [treaty, row.kind, row.key, self.day(row.since or _BEGINNING), self.day(row.until), stamp, None, digest, row.text]
                open_rows[(treaty, digest)] = entry
                inserts.append(entry)
        if closes:
            c.executemany(self.q("UPDATE {tl_intervals} SET known_to = ? WHERE treaty = ? AND digest = ? AND known_to IS NULL"), closes)
        if inserts:
            c.executemany(self.q("INSERT INTO {tl_intervals} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"), [tuple(e) for e in inserts])

    def _insert_rows(self, c: Any, treaty: str, rows: Iterable[Interval], recorded_at: datetime) -> None:
        c.executemany(
            self.q("INSERT INTO {tl_intervals} VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)"),
            [
                (treaty, row.kind, row.key, self.day(row.since or _BEGINNING), self.day(row.until), self.stamp(recorded_at), row.digest, row.text)
                for row in rows
            ],
        )

    def stamp(self, moment: datetime) -> Any:
        """A recorded time as this backend stores it."""
        return _stamp(moment)

    def day(self, value: date | None) -> Any:
        """A date as this backend stores it."""
        return None if value is None else value.isoformat()

    def drop_views(self) -> None:
        """Drop the view's tables and forget what it tracked (for a rebuild)."""
        with self.cursor(commit=True) as c:
            for statement in self.drop_statements():
                c.execute(statement)
            self.forget_tracking(c)
            for statement in self.view_statements():
                c.execute(statement)

    @abstractmethod
    def forget_tracking(self, cursor: Any) -> None:
        """Delete the tracking records (for a rebuild)."""

    # -- reading -------------------------------------------------------------------------------

    def rows_on(self, treaty: str, day: date, known_at: datetime | None, kinds: Sequence[str]) -> list[Interval]:
        """The rows of ``kinds`` holding on ``day``, as the ledger knew them at ``known_at`` (now when ``None``)."""
        marks = ", ".join("?" for _ in kinds)
        statement = f"SELECT kind, key, since, until, doc, digest FROM {{tl_intervals}} WHERE treaty = ? AND kind IN ({marks}) AND since <= ? AND (until IS NULL OR until > ?) "
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
        return Interval(row["kind"], row["key"], _date(row["since"]), _date(row["until"]), json.loads(row["doc"]), row["digest"], row["doc"])

    def current_rows(self, treaty: str) -> list[Interval]:
        """Every row the view currently holds for ``treaty``."""
        with self.cursor(commit=False) as c:
            c.execute(self.q("SELECT kind, key, since, until, doc, digest FROM {tl_intervals} WHERE treaty = ? AND known_to IS NULL"), (treaty,))
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
    from domain.events import EVENT_TYPES, normalise_fields
    from domain.sources import normalise_source

    known = {"id", "treaty", "sequence", "type", "date", "source", "recorded_at", "prev_hash", "hash"}
    fields = {k: v for k, v in body.items() if k not in known}
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

    def forget_tracking(self, cursor: Any) -> None:
        cursor.execute("DELETE FROM tracking")


class PostgresLedgerView(LedgerView, PostgresTrackingRecorder):
    """The view in the PostgreSQL database (and schema) that holds the events."""

    placeholder = "%s"
    date_type = "DATE"
    stamp_type = "TIMESTAMPTZ"

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        from psycopg.sql import SQL

        self.sql_create_statements.extend(SQL(s).format() for s in self.view_statements())

    def table(self, name: str) -> str:
        return f'"{self.datastore.schema}".{name}'

    @contextmanager
    def cursor(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as c:
            yield c

    def tracking_table(self) -> str:
        return f'"{self.datastore.schema}"."{self.tracking_table_name}"'

    def forget_tracking(self, cursor: Any) -> None:
        cursor.execute(f"DELETE FROM {self.tracking_table()}")

    def stamp(self, moment: datetime) -> Any:
        return moment

    def day(self, value: date | None) -> Any:
        return value
