"""The events' recorder on PostgreSQL: eventsourcing's, with large batches sent outside pipeline mode.

eventsourcing's :class:`~eventsourcing.postgres.PostgresApplicationRecorder` sends a save's
statements (the table lock, the notification, the insert of every event as one array) in psycopg's
pipeline mode. With a large batch (an import of a 10,000-event treaty: megabytes in one statement)
psycopg can deadlock there, the client waiting on the server and the server on the client
(psycopg issue #685; seen here in about half of such imports). A batch of :data:`LARGE_BATCH`
events or more is therefore sent as the same statements, in the same transaction, one after the
other; a smaller one (every HTTP write) keeps the pipeline's single round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry

__all__ = ["LARGE_BATCH", "RECORDER_TOPIC", "LedgerPostgresRecorder"]

LARGE_BATCH = 100
"""The number of events from which a save is sent outside pipeline mode."""

RECORDER_TOPIC = "treaty_ledger.store.postgres_events:LedgerPostgresRecorder"
"""The recorder's topic, for eventsourcing's ``APPLICATION_RECORDER_TOPIC`` setting."""


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """eventsourcing's application recorder, sending large batches without pipeline mode (see the module)."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        ids: Sequence[int] | None
        if len(stored_events) < LARGE_BATCH or self.datastore.enable_db_functions:
            ids = super().insert_events(stored_events, **kwargs)
        else:
            ids = self._insert_large_batch(stored_events, **kwargs)
        return ids

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_large_batch(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """What eventsourcing's ``insert_events`` does in a pipeline, one statement after another in one transaction."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
