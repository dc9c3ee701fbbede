"""Raw access to the stored events, as an intruder with database access would have."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

from treaty_ledger.store.database import DatabaseURL, parse_database_url


def execute(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one SQL statement on the store named by ``url`` (``{events}`` and ``{snapshots}`` name the tables)."""
    return execute_all(url, [(statement, params)])


def execute_all(url: str, steps: Sequence[tuple[str, tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    """Run each ``(statement, params)`` of ``steps`` on one connection, in one transaction; return the last one's rows.

    (One connection for many statements: a PostgreSQL connection costs milliseconds to open.)
    """
    database = parse_database_url(url)
    events = _table(database)
    named = [(statement.format(events=events, snapshots=events.replace("_events", "_snapshots")), params) for statement, params in steps]
    rows: list[tuple[Any, ...]] = []
    if database.is_postgres:
        with database.connect() as conn:
            for text, params in named:
                cursor = conn.execute(text.replace("?", "%s"), params)  # type: ignore[arg-type]
                rows = list(cursor.fetchall()) if cursor.description else []
        return rows
    conn = sqlite3.connect(database.path)
    try:
        with conn:
            for text, params in named:
                rows = list(conn.execute(text, params).fetchall())
        return rows
    finally:
        conn.close()


def drop_immutability(url: str) -> None:
    """Drop the triggers, as an intruder could."""
    database = parse_database_url(url)
    if database.is_postgres:
        execute(url, "DROP TRIGGER treaty_ledger_immutable ON {events}")
    else:
        execute(url, "DROP TRIGGER treaty_ledger_no_update")
        execute(url, "DROP TRIGGER treaty_ledger_no_delete")


def _table(database: DatabaseURL) -> str:
    if database.is_postgres:
        return f'"{database.schema or "public"}".{database.events_table}'
    return database.events_table


def outcome_of(action: Callable[[], object]) -> BaseException | None:
    """The error ``action`` raised, or ``None`` (for actions run in threads of their own)."""
    try:
        action()
    except BaseException as error:
        return error
    return None


def an_advisory_lock_request_queues(postgres_url: str, within: float = 3.0) -> bool:
    """Whether some session's request for an advisory lock is waiting (seen in ``pg_locks``) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if execute(postgres_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[0][0]:
            return True
        time.sleep(0.01)  # polling PostgreSQL's lock table
    return False
