"""Concurrent writers: losers of the optimistic-concurrency check are re-checked and retried."""

from __future__ import annotations

import threading

import pytest
from eventsourcing.persistence import IntegrityError

from tests.integration.helpers import outcome_of
from tests.scenario import SOURCE, event, in_force, notified, ratified
from treaty_ledger.bootstrap import open_ledger, open_services, open_view
from treaty_ledger.domain.errors import TimelineContradiction
from treaty_ledger.store.database import parse_database_url
from treaty_ledger.store.projection import APPLICATION_NAME

WRITERS = ("USA", "RUS", "GBR", "FRA", "DEU", "CAN", "HUN", "POL")


def append_concurrently(url: str, writers: int, per_writer: int) -> list[BaseException]:
    setup = open_ledger(url)
    setup.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE})
    setup.close()
    failures: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(state: str) -> None:
        try:
            ledger = open_ledger(url)  # each writer has its own application, cache and connections
        except BaseException as error:
            failures.append(error)
            start.abort()
            return
        try:
            start.wait(timeout=60)
            for i in range(per_writer):
                ledger.record_event("open-skies", event("statement", "2020-01-01", state, summary=f"{state} #{i}"))
        except BaseException as error:
            failures.append(error)
        finally:
            ledger.close()

    threads = [threading.Thread(target=write, args=(state,)) for state in WRITERS[:writers]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def assert_complete(url: str, writers: int, per_writer: int) -> None:
    ledger = open_ledger(url)
    records = ledger.list_events("open-skies")
    assert len(records) == writers * per_writer
    assert [r.sequence for r in records] == list(range(1, writers * per_writer + 1))
    summaries = sorted(r.fields["summary"] for r in records)
    assert summaries == sorted(f"{s} #{i}" for s in WRITERS[:writers] for i in range(per_writer))
    report = ledger.verify()
    assert report.ok and report.events_checked == writers * per_writer + 1


@pytest.mark.postgres
def test_eight_threads_appending_a_hundred_events_each_on_postgres_lose_nothing(postgres_url: str) -> None:
    assert append_concurrently(postgres_url, 8, 100) == []
    assert_complete(postgres_url, 8, 100)


def test_four_threads_appending_on_sqlite_lose_nothing(sqlite_url: str) -> None:
    assert append_concurrently(sqlite_url, 4, 25) == []
    assert_complete(sqlite_url, 4, 25)


@pytest.mark.postgres
def test_a_retried_write_is_checked_against_the_new_timeline(postgres_url: str) -> None:
    """Two writers race to notify the same withdrawal: exactly one notice is recorded."""
    setup = open_ledger(postgres_url)
    setup.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE})
    setup.record_event("open-skies", ratified("USA", "1993-12-03"))
    setup.record_event("open-skies", in_force("2002-01-01"))
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def notify() -> None:
        ledger = open_ledger(postgres_url)
        ledger.treaty("open-skies")  # warm the cache at the same version as every other writer
        start.wait(timeout=60)
        try:
            ledger.record_event("open-skies", notified("USA", "2020-05-22"))
            outcomes.append("recorded")
        except TimelineContradiction:
            outcomes.append("rejected")
        finally:
            ledger.close()

    threads = [threading.Thread(target=notify) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["recorded"] + ["rejected"] * 5
    assert [r.type for r in setup.list_events("open-skies")].count("withdrawal_notified") == 1


@pytest.mark.postgres
def test_opening_the_views_does_not_wait_for_a_worker_in_the_middle_of_a_write(postgres_url: str) -> None:
    """A process starting up beside a running worker must not lock the tables the worker writes.

    The worker's write locks the records, then the intervals, then the tracking row. Opening the
    views used to run CREATE INDEX IF NOT EXISTS on those tables, which takes a lock that waits for
    the worker, while holding another the worker waits for: PostgreSQL reported a deadlock.
    """
    open_ledger(postgres_url).close()
    open_view(postgres_url).datastore.close()  # type: ignore[attr-defined]  # the tables exist, as beside a worker
    url = parse_database_url(postgres_url)
    opened: list[object] = []
    failures: list[BaseException] = []

    def start_up() -> None:
        try:
            opened.append(open_view(postgres_url))
        except BaseException as error:
            failures.append(error)

    with url.connect() as worker, worker.transaction():
        for table in ("tl_treaties", "tl_records", "tl_intervals", "treaty_views_tracking"):
            worker.execute(f'LOCK TABLE "{url.schema}".{table} IN ROW EXCLUSIVE MODE')  # what a write holds
        starting = threading.Thread(target=start_up)
        starting.start()
        starting.join(timeout=20)
        finished_during_write = not starting.is_alive()
    starting.join()
    assert failures == []
    assert finished_during_write, "opening the views waited for the worker's transaction"
    opened[0].datastore.close()  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_a_rebuild_waits_for_a_write_in_progress_instead_of_deadlocking_with_it(postgres_url: str) -> None:
    """Dropping the views takes the tracking row first, as every write does, so the two queue up.

    It used to drop the tables first: holding tl_intervals, it waited for a writer holding
    tl_records, which then waited for tl_intervals, and PostgreSQL aborted one of them.
    """
    services = open_services(postgres_url)
    services.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE})
    view = services.view
    url = parse_database_url(postgres_url)
    tracking, records, intervals = (f'"{url.schema}".{name}' for name in ("treaty_views_tracking", "tl_records", "tl_intervals"))
    dropped: list[BaseException | None] = []
    with url.connect() as writer, writer.transaction():
        # A write in progress: the tracking compare-and-set, then the records...
        writer.execute(f"UPDATE {tracking} SET notification_id = notification_id WHERE application_name = %s", (APPLICATION_NAME,))
        writer.execute(f"LOCK TABLE {records} IN ROW EXCLUSIVE MODE")
        rebuilding = threading.Thread(target=lambda: dropped.append(outcome_of(lambda: view.drop_views(APPLICATION_NAME))))
        rebuilding.start()
        rebuilding.join(timeout=2)  # the drop is now waiting for this write
        # ...then the intervals, which the drop must not be holding.
        writer.execute("SET LOCAL lock_timeout = '10s'")
        writer.execute(f"LOCK TABLE {intervals} IN ROW EXCLUSIVE MODE")
    rebuilding.join()
    assert dropped == [None]
    services.close()


def test_threads_of_one_process_writing_to_one_treaty_take_turns_instead_of_conflicting(database_url: str,
                                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = open_ledger(database_url)
    ledger.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE})
    lost: list[int] = []
    save = type(ledger).save_treaty

    def counting(self: object, treaty: object) -> None:
        try:
            save(self, treaty)  # type: ignore[arg-type]
        except IntegrityError:
            lost.append(1)
            raise

    monkeypatch.setattr(type(ledger), "save_treaty", counting)
    start = threading.Barrier(6)
    failures: list[BaseException] = []

    def write(state: str) -> None:
        try:
            start.wait(timeout=60)
            for i in range(15):
                ledger.record_event("open-skies", event("statement", "2020-01-01", state, summary=f"{state} #{i}"))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(state,)) for state in WRITERS[:6]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and lost == []  # no write lost the optimistic-concurrency check to another thread
    ledger.close()
    assert_complete(database_url, 6, 15)
