"""Choosing and preparing the store: database URLs, eventsourcing settings, immutability triggers.

``sqlite:///path/to/file.db`` (the embedded default) or
``postgresql://user:password@host:port/dbname[?schema=name]`` (production). The URL is
translated into eventsourcing's environment settings when the ledger starts; nothing here
reads the environment or connects at import time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import psycopg
from psycopg import sql

from treaty_ledger.domain.errors import InvalidInput
from treaty_ledger.store.postgres_events import RECORDER_TOPIC

__all__ = [
    "DEFAULT_DATABASE",
    "DatabaseURL",
    "StoreError",
    "install_immutability",
    "parse_database_url",
    "prepare_store",
    "startup_lock",
]

DEFAULT_DATABASE = "sqlite:///treaty-ledger.db"
"""The embedded default: a SQLite file in the working directory."""

DEFAULT_POOL_SIZE = 4
"""PostgreSQL connections one process holds at most (``?pool_size=N`` in the URL, 3 or more).

One is the set-up lock's, held only while the process starts; of the rest, two thirds are the
views' pool (every read, key check and catch-up uses it) and one third the events' pool (writes,
and reading new events): 2 and 1 by default. Each pool keeps one connection when idle."""

IMMUTABLE_MESSAGE = "treaty ledger events are immutable: record a correction or a retraction instead"


class StoreError(InvalidInput):
    """The database URL is malformed or names a store the ledger does not support."""


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A parsed database URL, and the eventsourcing settings it stands for."""

    url: str
    backend: str
    path: str = ""
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = ""
    pool_size: int = DEFAULT_POOL_SIZE

    @property
    def is_postgres(self) -> bool:
        """Whether the store is PostgreSQL."""
        return self.backend == "postgresql"

    @property
    def events_table(self) -> str:
        """The table eventsourcing stores the ledger's events in."""
        return "treatyledger_events" if self.is_postgres else "stored_events"

    @property
    def snapshots_table(self) -> str:
        """The table eventsourcing stores the treaties' snapshots in."""
        return "treatyledger_snapshots" if self.is_postgres else "stored_snapshots"

    def pool_sizes(self) -> tuple[int, int]:
        """The most connections the events' pool and the views' pool may hold (see :data:`DEFAULT_POOL_SIZE`)."""
        views = max(1, (self.pool_size - 1) * 2 // 3)
        return max(1, self.pool_size - 1 - views), views

    def eventsourcing_env(self, *, views: bool = False) -> dict[str, str]:
        """The eventsourcing settings for this store (for the views' pool when ``views``)."""
        if not self.is_postgres:
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": self.path, "SQLITE_LOCK_TIMEOUT": "30"}
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            # Each of the process's two pools keeps one connection, and grows to its share of the budget.
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_MAX_OVERFLOW": str(self.pool_sizes()[1 if views else 0] - 1),
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_LOCK_TIMEOUT": "10",
        }
        if not views:
            env["APPLICATION_RECORDER_TOPIC"] = RECORDER_TOPIC  # large saves outside pipeline mode (see store/postgres_events.py)
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env

    def redacted(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        if self.password:
            return self.url.replace(f":{self.password}@", ":***@")
        return self.url

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """A plain psycopg connection to this PostgreSQL store (for set-up and views)."""
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password or None, dbname=self.dbname, autocommit=True
        )


def parse_database_url(url: str | None) -> DatabaseURL:
    """Read a ``sqlite:///`` or ``postgresql://`` URL; ``None`` means the embedded default."""
    text = (url or DEFAULT_DATABASE).strip()
    parsed = urlparse(text)
    if parsed.scheme == "sqlite":
        path = unquote(text[len("sqlite:///") :]) if text.startswith("sqlite:///") else ""
        if not path:
            raise StoreError("expected sqlite:///path/to/file.db", field="database")
        return DatabaseURL(url=text, backend="sqlite", path=path)
    if parsed.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        dbname = unquote(parsed.path.lstrip("/"))
        if not dbname:
            raise StoreError("expected postgresql://user:password@host:port/dbname", field="database")
        try:
            port = parsed.port or 5432
        except ValueError:
            raise StoreError(f"the port in {text!r} is not a number", field="database") from None
        query = parse_qs(parsed.query)
        unknown = sorted(set(query) - {"schema", "pool_size"})
        if unknown:
            raise StoreError(f"unknown setting {unknown[0]!r} in the database URL; it takes schema and pool_size", field="database")
        schema = (query.get("schema") or [""])[0]
        if schema and not schema.replace("_", "").isalnum():
            raise StoreError("the schema must be letters, digits and underscores", field="database")
        pool_text = (query.get("pool_size") or [str(DEFAULT_POOL_SIZE)])[0]
        if not pool_text.isdigit() or not 3 <= int(pool_text) <= 100:
            raise StoreError(f"pool_size must be a whole number from 3 to 100, got {pool_text!r}", field="database")
        return DatabaseURL(
            url=text,
            backend="postgresql",
            host=parsed.hostname or "127.0.0.1",
            port=port,
            user=unquote(parsed.username or "postgres"),
            password=unquote(parsed.password or ""),
            dbname=dbname,
            schema=schema,
            pool_size=int(pool_text),
        )
    raise StoreError(
        f"unsupported database {text!r}: use sqlite:///path/to/file.db or postgresql://user:password@host:port/dbname",
        field="database",
    )


def prepare_store(database: DatabaseURL) -> None:
    """Create what eventsourcing does not: the SQLite file's folder, or the PostgreSQL schema."""
    if database.is_postgres:
        if database.schema:
            with database.connect() as conn, conn.transaction():
                if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (database.schema,)).fetchone():
                    return  # no DDL: a role without CREATE on the database may run here (tables_exist, grant_api_role)
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('treaty_ledger_schema'))")
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(database.schema)))
    elif database.path != ":memory:" and not database.path.startswith("file:"):
        Path(database.path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


@contextmanager
def _connection(database: DatabaseURL, given: psycopg.Connection[tuple[object, ...]] | None) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """``given`` (left open), or a connection of its own (closed afterwards)."""
    if given is not None:
        yield given
        return
    with database.connect() as conn:
        yield conn


@contextmanager
def startup_lock(database: DatabaseURL) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Hold a PostgreSQL advisory lock while a process creates or checks the store's tables.

    Yields the lock's connection, on which the set-up steps run (so that starting up costs one
    connection beyond the pools)."""
    with database.connect() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('treaty_ledger_startup'))")
        try:
            yield conn
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('treaty_ledger_startup'))")


def install_immutability(database: DatabaseURL, conn: psycopg.Connection[tuple[object, ...]] | None = None) -> None:
    """Install triggers that refuse UPDATE and DELETE on the stored events and snapshots (idempotent).

    On PostgreSQL it runs on ``conn`` when given (the set-up lock's), else on a connection of its own.
    The events table's triggers keep their first names (``treaty_ledger_immutable``, ``treaty_ledger_no_update``,
    ``treaty_ledger_no_delete``); the snapshots table's end in ``_snapshots``.
    """
    tables = ((database.events_table, ""), (database.snapshots_table, "_snapshots"))
    if database.is_postgres:
        schema = database.schema or "public"
        with _connection(database, conn) as conn, conn.transaction():
            missing = [
                (table, suffix) for table, suffix in tables
                if not conn.execute(
                    "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE t.tgname = %s AND c.relname = %s AND n.nspname = %s",
                    (f"treaty_ledger_immutable{suffix}", table, schema),
                ).fetchone()
            ]
            if not missing:
                return  # every start but the first: no DDL
            conn.execute(
                sql.SQL(
                    "CREATE OR REPLACE FUNCTION {schema}.treaty_ledger_refuse_change() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION {message} USING ERRCODE = 'restrict_violation'; END $$"
                ).format(schema=sql.Identifier(schema), message=sql.Literal(IMMUTABLE_MESSAGE))
            )
            for table, suffix in missing:
                conn.execute(
                    sql.SQL(
                        "CREATE TRIGGER {name} BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.{table} "
                        "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.treaty_ledger_refuse_change()"
                    ).format(name=sql.Identifier(f"treaty_ledger_immutable{suffix}"), schema=sql.Identifier(schema), table=sql.Identifier(table))
                )
        return
    lite = sqlite3.connect(database.path)
    with lite:
        for table, suffix in tables:
            for action in ("UPDATE", "DELETE"):
                lite.execute(
                    f"CREATE TRIGGER IF NOT EXISTS treaty_ledger_no_{action.lower()}{suffix} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}'); END"
                )
    lite.close()


def tables_exist(database: DatabaseURL, conn: psycopg.Connection[tuple[object, ...]], names: Iterable[str]) -> bool:
    """Whether every table of ``names`` is in the store's PostgreSQL schema (then a process starts without DDL)."""
    wanted = set(names)
    found = conn.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
        (database.schema or "public", sorted(wanted)),
    ).fetchone()
    return found is not None and int(str(found[0])) == len(wanted)


APPEND_ONLY = ("tl_tree_nodes", "tl_tree_treaties", "tl_checkpoints")
"""The tree's tables: like the events, only ever inserted into and read."""
DERIVED = ("tl_treaties", "tl_records", "tl_intervals", "api_keys", "idempotency")
"""The views (rebuilt from the events), the API keys and the idempotency records: written freely."""


def grant_api_role(database: DatabaseURL, role: str, *, tracking_table: str, password: str | None = None) -> bool:
    """Let ``role`` run the API and the projection worker on this PostgreSQL store, and no more (creating it when missing).

    It may read and insert the events, snapshots and tree, never own them, so it cannot drop
    their triggers: on the events table it also holds ``UPDATE``, only because eventsourcing
    locks the table ``IN EXCLUSIVE MODE`` to insert, which PostgreSQL allows only to a role that
    may update, delete or truncate; the trigger refuses every ``UPDATE``. It reads and writes the
    views, keys and idempotency tables, and the tables a rebuild makes again (default privileges).
    ``tracking_table``: the views' tracking table. Returns whether the role was created. The store's tables must exist.
    """
    schema = sql.Identifier(database.schema or "public")
    name = sql.Identifier(role)

    def tables(names: Iterable[str]) -> sql.Composable:
        return sql.SQL(", ").join(sql.SQL("{}.{}").format(schema, sql.Identifier(t)) for t in names)

    with database.connect() as conn, conn.transaction():
        created = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None
        if created:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(name, sql.Literal(password)) if password
                         else sql.SQL("CREATE ROLE {} LOGIN").format(name))
        elif password:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, name))
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE ON {} TO {}").format(tables([database.events_table]), name))
        conn.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(tables([database.snapshots_table, *APPEND_ONLY]), name))
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(tables([*DERIVED, tracking_table]), name))
        conn.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, name))
        conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}").format(schema, name))
    return created


def repair_tracking_migration(database: DatabaseURL, tracking_table: str, conn: psycopg.Connection[tuple[object, ...]] | None = None) -> None:
    """Let eventsourcing open a views tracking table that earlier rebuilds emptied (idempotent).

    Rebuilds before this version deleted every row of the tracking table, eventsourcing's
    ``__migration__`` marker included. Without the marker eventsourcing takes the table for an
    old multi-row one and renames it to a backup name, which fails the second time round
    because the backup from the first time is there. A backup next to a table without marker
    is such a leftover (its rows were copied over when it was made): drop it.
    """
    if database.is_postgres:
        schema = database.schema or "public"
        backup = f"bkup1_{tracking_table}"[:63]
        with _connection(database, conn) as conn, conn.transaction():
            tables = {row[0] for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name IN (%s, %s)",
                (schema, tracking_table, backup),
            )}
            if tables == {tracking_table, backup} and conn.execute(
                sql.SQL("SELECT 1 FROM {}.{} WHERE application_name = '__migration__'").format(
                    sql.Identifier(schema), sql.Identifier(tracking_table)),
            ).fetchone() is None:
                conn.execute(sql.SQL("DROP TABLE {}.{}").format(sql.Identifier(schema), sql.Identifier(backup)))
        return
    backup = f"old1_{tracking_table}"
    lite = sqlite3.connect(database.path)
    try:
        with lite:
            tables = {row[0] for row in lite.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", (tracking_table, backup))}
            if tables == {tracking_table, backup} and lite.execute(
                f"SELECT 1 FROM {tracking_table} WHERE application_name = '__migration__'").fetchone() is None:
                lite.execute(f"DROP TABLE {backup}")
    finally:
        lite.close()
