"""The views' SQL statements: their tables, indexes and drops, written once for both backends.

:class:`ViewStatements` is mixed into the view (:class:`~treaty_ledger.store.views.LedgerView`);
a backend sets its column types and placeholder, and qualifies table names
(:meth:`ViewStatements.table`). Statements name tables as ``{tl_intervals}`` and take ``?``
placeholders; :meth:`ViewStatements.q` turns them into the backend's SQL.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterable

__all__ = ["INTERVAL_COLUMNS", "RECORD_COLUMNS", "RETIRED_INDEXES", "TABLES", "ViewStatements", "created_names", "indexed_table"]

INTERVAL_COLUMNS = ("id", "treaty", "kind", "key", "since", "until", "known_from", "known_to", "doc")
"""The columns of ``tl_intervals``, in order (also how opening the views tells an older layout)."""
RECORD_COLUMNS = ("treaty", "sequence", "id", "type", "date", "state", "recorded_at", "body")
"""The columns of ``tl_records``, in order."""

RETIRED_INDEXES = ("tl_intervals_now", "tl_intervals_known")
"""Indexes of earlier versions that nothing reads any more: opening the views drops them, so that writes stop keeping them.

``tl_intervals_now`` was ``tl_intervals_current`` without ``until``; ``tl_intervals_known`` was ``tl_intervals_recorded``
with ``since`` before ``known_from``.
"""

TABLES = ("tl_treaties", "tl_records", "tl_intervals", "api_keys", "idempotency", "tl_tree_nodes", "tl_tree_treaties", "tl_checkpoints")
"""The tables a statement may name as ``{name}``."""

_CREATES = re.compile(r'CREATE (?:UNIQUE )?(?:TABLE|INDEX) IF NOT EXISTS (?:"[^"]+"\.)?(\w+)')
"""The name of the table or index a CREATE statement of the view makes."""
_INDEXED = re.compile(r" ON (\S+) \(")
"""The table a CREATE INDEX statement of the view indexes (as the statement names it)."""


def created_names(statements: Iterable[str]) -> list[str]:
    """The (unqualified) names of the tables and indexes ``statements`` create."""
    return [match.group(1) for statement in statements if (match := _CREATES.match(statement))]


def indexed_table(statement: str) -> str:
    """The table a CREATE INDEX ``statement`` indexes, as it names it (empty when it names none)."""
    match = _INDEXED.search(statement)
    return match.group(1) if match else ""


class ViewStatements:
    """The CREATE and DROP statements of the views' tables and indexes, for one backend."""

    placeholder = "?"
    date_type = "TEXT"
    stamp_type = "TEXT"
    row_id_type = "INTEGER"
    clustered = " WITHOUT ROWID"
    bytes_type = "BLOB"
    """How a table keyed by its primary key alone is declared (SQLite: one B-tree instead of two; the tree's nodes)."""

    @abstractmethod
    def table(self, name: str) -> str:
        """The qualified name of table ``name``."""

    def q(self, statement: str) -> str:
        """``statement`` with ``{name}`` tables qualified and ``?`` placeholders for this backend."""
        text = statement.format(**{n: self.table(n) for n in TABLES})
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
        """The index applying events one treaty at a time needs (to load a treaty's current rows), which as-of reads use too.

        It holds ``until``, so that SQLite checks whether a row still holds on a date in the index and reads from the
        table only the rows that do: at 1,000,000 events a membership query's SQL took 98 us with it, against 178 us
        through the index of recorded time as it was, ``(treaty, kind, since, known_from)``, and 84 against 131 at
        10,000 events.
        """
        return [self.q("CREATE INDEX IF NOT EXISTS tl_intervals_current ON {tl_intervals} (treaty, kind, since, until) WHERE known_to IS NULL")]

    def retired_index_statements(self) -> list[str]:
        """The DROP statements of indexes earlier versions made and no version reads (:data:`RETIRED_INDEXES`)."""
        return [f"DROP INDEX IF EXISTS {self.table(name)}" for name in RETIRED_INDEXES]

    def read_index_statements(self) -> list[str]:
        """Indexes only queries need: a rebuild creates them after loading, which is faster."""
        return [
            self.q("CREATE UNIQUE INDEX IF NOT EXISTS tl_records_id ON {tl_records} (id)"),
            self.q("CREATE INDEX IF NOT EXISTS tl_records_state ON {tl_records} (treaty, state, sequence)"),
            # Recorded time before effective time: for a query of what is known now, SQLite (which has no statistics of
            # these tables) then finds tl_intervals_current matching more of its terms, and chooses it whatever the order
            # the indexes were created in. With ``since`` before ``known_from`` (the retired tl_intervals_known) the two
            # tied, and SQLite took the one created last: after a rebuild, this one.
            self.q("CREATE INDEX IF NOT EXISTS tl_intervals_recorded ON {tl_intervals} (treaty, kind, known_from, since)"),
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
            *self.tree_statements(),
        ]

    def tree_statements(self) -> list[str]:
        """The Merkle tree's tables (:mod:`treaty_ledger.store.tree`): not views, never dropped."""
        n = self.row_id_type
        return [
            # A node per perfect subtree; a leaf (level 0) also says what it is: treaty, sequence (0: the registration), event id,
            # and the notification it is.
            self.q(f"CREATE TABLE IF NOT EXISTS {{tl_tree_nodes}} (level INTEGER NOT NULL, idx {n} NOT NULL, hash {self.bytes_type} NOT NULL, "
                   f"treaty TEXT, sequence INTEGER, event_id TEXT, notification_id {n}, PRIMARY KEY (level, idx)){self.clustered}"),
            # Leaves found by treaty and sequence (an event id is looked up in the views first): a write inserts into this
            # index where its treaty's last leaves are, not at a random place as an index of event ids would.
            self.q("CREATE UNIQUE INDEX IF NOT EXISTS tl_tree_nodes_place ON {tl_tree_nodes} (treaty, sequence) WHERE level = 0"),
            self.q("CREATE TABLE IF NOT EXISTS {tl_tree_treaties} (uuid TEXT PRIMARY KEY, treaty TEXT NOT NULL)"),
            self.q(f"CREATE TABLE IF NOT EXISTS {{tl_checkpoints}} (size {n} PRIMARY KEY, root TEXT NOT NULL, note TEXT, issued_at {self.stamp_type} NOT NULL)"),
        ]

    def relation_names(self) -> list[str]:
        """The tables and indexes the view's CREATE statements make (unqualified names)."""
        return created_names(self.view_statements())

    def table_names(self) -> list[str]:
        """The tables (not the indexes) the view's CREATE statements make (unqualified names)."""
        return created_names(s for s in (*self.table_statements(), *self.access_statements()) if s.startswith("CREATE TABLE"))

    def drop_statements(self) -> list[str]:
        """The DROP statements of the view's tables."""
        return [self.q(f"DROP TABLE IF EXISTS {{{name}}}") for name in ("tl_intervals", "tl_records", "tl_treaties")]
