"""Large saves on PostgreSQL go outside psycopg's pipeline mode (where a batch of megabytes could deadlock,
psycopg issue #685), with the same outcome as eventsourcing's own recorder: every event stored once, the
notification ids in order and without gaps, and a conflicting save refused as eventsourcing refuses it."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from tests.scenario import SOURCE
from treaty_ledger.bootstrap import open_services
from treaty_ledger.store.database import parse_database_url
from treaty_ledger.store.postgres_events import LARGE_BATCH, RECORDER_TOPIC, LedgerPostgresRecorder

pytestmark = pytest.mark.postgres


def test_the_ledgers_events_are_written_by_the_ledgers_recorder(postgres_url: str) -> None:
    assert parse_database_url(postgres_url).eventsourcing_env()["APPLICATION_RECORDER_TOPIC"] == RECORDER_TOPIC
    assert "APPLICATION_RECORDER_TOPIC" not in parse_database_url(postgres_url).eventsourcing_env(views=True)
    services = open_services(postgres_url)
    try:
        assert isinstance(services.ledger.recorder, LedgerPostgresRecorder)
    finally:
        services.close()


def test_a_batch_of_several_thousand_events_is_stored_once_in_order(postgres_url: str) -> None:
    services = open_services(postgres_url)
    try:
        services.register_treaty({"id": "long", "title": "A long history", "source": SOURCE})
        statements = [{"type": "statement", "state": "FRA", "date": f"{1950 + i // 300}-01-01", "summary": f"statement {i} " + "x" * 400,
                       "source": SOURCE} for i in range(3_000)]
        services.ledger.record_many("long", statements)
        assert len(services.ledger.list_events("long")) == 3_000
        notifications = services.ledger.recorder.select_notifications(start=1, limit=10_000)
        ids = [n.id for n in notifications]
        assert ids == list(range(ids[0], ids[0] + len(ids))) and len(ids) == 3_001  # the registration and every event, gap-free
        assert services.ledger.verify("long").ok
    finally:
        services.close()


def test_a_large_save_that_conflicts_is_refused_as_eventsourcing_refuses_it_and_stores_nothing(postgres_url: str) -> None:
    services = open_services(postgres_url)
    try:
        recorder = services.ledger.recorder
        assert isinstance(recorder, LedgerPostgresRecorder)
        originator = uuid4()
        batch = [StoredEvent(originator_id=originator, originator_version=v, topic="test:Event", state=b"{}") for v in range(1, LARGE_BATCH + 1)]
        before = recorder.max_notification_id() or 0
        assert len(recorder.insert_events(batch) or []) == LARGE_BATCH
        with pytest.raises(IntegrityError):
            recorder.insert_events(batch[-1:] + [StoredEvent(originator_id=originator, originator_version=LARGE_BATCH + v, topic="test:Event",
                                                             state=b"{}") for v in range(1, LARGE_BATCH)])
        assert (recorder.max_notification_id() or 0) == before + LARGE_BATCH
    finally:
        services.close()
