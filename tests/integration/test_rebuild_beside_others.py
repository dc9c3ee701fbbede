"""A rebuild beside other processes: the API catching up after a write, the projection worker, a second rebuild.

A rebuild holds the views from before it drops them until it has loaded them again. Meanwhile
other processes write nothing to them (the rebuild's last catch-up applies their events), a
second rebuild is refused, and the worker waits and then goes on from the rebuilt views.
Each test opens two sets of services on one store: two processes, as far as the store can tell.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from eventsourcing.persistence import Tracking

from tests.integration.helpers import an_advisory_lock_request_queues, outcome_of
from tests.integration.test_views import index_names
from tests.scenario import SOURCE, acceded, in_force, ratified
from treaty_ledger.bootstrap import Services, open_services, open_view
from treaty_ledger.projections.replay import membership_by_replay
from treaty_ledger.store.database import parse_database_url
from treaty_ledger.store.projection import APPLICATION_NAME, LedgerProjection, ViewsMoved
from treaty_ledger.store.view_locks import RebuildInProgress, ViewsBusy

READ_INDEXES = {"tl_records_id", "tl_records_state", "tl_intervals_recorded", "tl_intervals_current"}


def open_two(url: str) -> Iterator[tuple[Services, Services]]:
    """The process that rebuilds, and another (the API) on the same store, with a treaty recorded."""
    rebuilder, other = open_services(url), open_services(url)
    rebuilder.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE})
    for body in (ratified("USA", "1993-12-03"), ratified("RUS", "2001-11-02"), in_force("2002-01-01")):
        rebuilder.record_event("open-skies", body)
    other.read.refresh()
    yield rebuilder, other
    rebuilder.close()
    other.close()


@pytest.fixture
def two(database_url: str) -> Iterator[tuple[Services, Services]]:
    """Two processes on SQLite, then on PostgreSQL."""
    yield from open_two(database_url)


@pytest.fixture
def two_on_postgres(postgres_url: str) -> Iterator[tuple[Services, Services]]:
    """Two processes on PostgreSQL."""
    yield from open_two(postgres_url)


def parties(services: Services, on: date) -> list[str]:
    return list(services.read.membership_as_of("open-skies", on)["parties"])


def record_elsewhere_right_after_the_drop(rebuilder: Services, other: Services, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Have ``other`` (the API) record FIN's accession and catch up while the views lie empty; its catch-ups' counts."""
    view = rebuilder.view
    drop = view.drop_views
    caught_up: list[int] = []

    def drop_then_the_other_records(*args: object, **kwargs: object) -> None:
        drop(*args, **kwargs)  # type: ignore[arg-type]
        other.ledger.record_event("open-skies", acceded("FIN", "2002-12-13"))
        caught_up.append(other.projection.catch_up(other.ledger))

    monkeypatch.setattr(view, "drop_views", drop_then_the_other_records)
    return caught_up


def test_a_write_elsewhere_during_a_rebuild_is_stored_and_applied_by_the_rebuild(
        two: tuple[Services, Services], database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rebuilder, other = two
    caught_up = record_elsewhere_right_after_the_drop(rebuilder, other, monkeypatch)
    assert rebuilder.rebuild_views(workers=0) == 5  # the registration, three events, and FIN's accession
    assert caught_up == [0]  # the other process wrote nothing to the views being rebuilt
    assert READ_INDEXES <= set(index_names(database_url))
    assert rebuilder.view.max_tracking_id(APPLICATION_NAME) == rebuilder.ledger.recorder.max_notification_id()
    other.read.refresh()  # the other process reads the rebuilt views back
    treaty = other.ledger.treaty("open-skies")
    for services in (rebuilder, other):
        answer = services.read.membership_as_of("open-skies", date(2003, 6, 1))
        assert answer == membership_by_replay("open-skies", treaty.rules, treaty.records, date(2003, 6, 1))
        assert answer["parties"] == ["FIN", "RUS", "USA"]


def test_a_rebuild_with_worker_processes_also_keeps_other_writers_out(
        two: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch) -> None:
    rebuilder, other = two
    caught_up = record_elsewhere_right_after_the_drop(rebuilder, other, monkeypatch)
    assert rebuilder.rebuild_views(workers=2) == 5
    assert caught_up == [0]
    assert parties(rebuilder, date(2003, 6, 1)) == ["FIN", "RUS", "USA"]


def test_a_second_rebuild_while_one_runs_is_refused_and_says_why(two: tuple[Services, Services]) -> None:
    rebuilder, other = two
    other.view.rebuild_lock_wait = 0.2
    with rebuilder.view.rebuilding():
        with pytest.raises(RebuildInProgress, match="another process is rebuilding the views"):
            other.rebuild_views(workers=0)
    assert other.rebuild_views(workers=0) == 4  # once the first has let go
    assert parties(other, date(2003, 6, 1)) == ["RUS", "USA"]


def test_a_rebuild_waits_for_a_write_in_progress_elsewhere_before_dropping_anything(two: tuple[Services, Services]) -> None:
    rebuilder, other = two
    outcome: list[object] = []
    with other.view.write_cursor():  # another process is in the middle of writing a batch
        rebuilding = threading.Thread(target=lambda: outcome.append(rebuilder.rebuild_views(workers=0)))
        rebuilding.start()
        rebuilding.join(timeout=1.0)
        waited = rebuilding.is_alive()
        assert parties(other, date(2003, 6, 1)) == ["RUS", "USA"]  # nothing dropped yet
    rebuilding.join(timeout=30)
    assert waited, "the rebuild went ahead while another process was writing"
    assert outcome == [4]


class Delivery:
    """FIN's accession, recorded by another process's writer and delivered to a projection worker in a thread of its own."""

    def __init__(self, other: Services, postgres_url: str) -> None:
        self.worker = LedgerProjection(open_view(postgres_url))  # what ProjectionRunner drives
        self.record = other.ledger.record_event("open-skies", acceded("FIN", "2002-12-13"))
        notification = other.ledger.recorder.max_notification_id()
        assert notification is not None
        self.notification = notification
        [stored] = other.ledger.recorder.select_notifications(start=notification, limit=1)
        self.event = other.ledger.mapper.to_domain_event(stored)
        self.outcome: list[BaseException | None] = []
        self.thread = threading.Thread(target=self._deliver)

    def _deliver(self) -> None:
        self.outcome.append(outcome_of(lambda: self.worker.process_event(self.event, Tracking(APPLICATION_NAME, self.notification))))

    def start_and_see_it_wait(self) -> None:
        self.thread.start()
        self.thread.join(timeout=1.0)
        assert self.thread.is_alive(), "the worker wrote while the views were held for a rebuild"

    def result(self) -> BaseException | None:
        self.thread.join(timeout=30)
        self.worker.view.datastore.close()  # type: ignore[attr-defined]
        assert len(self.outcome) == 1
        return self.outcome[0]


@pytest.mark.postgres
def test_the_projection_worker_waits_for_a_hold_then_goes_on_where_it_was(
        two_on_postgres: tuple[Services, Services], postgres_url: str) -> None:
    rebuilder, other = two_on_postgres
    delivery = Delivery(other, postgres_url)
    with rebuilder.view.rebuilding():
        delivery.start_and_see_it_wait()
    assert delivery.result() is None
    assert rebuilder.view.max_tracking_id(APPLICATION_NAME) == delivery.notification
    assert parties(rebuilder, date(2003, 6, 1)) == ["FIN", "RUS", "USA"]
    assert [r.id for r in rebuilder.view.records("open-skies")].count(delivery.record.id) == 1


@pytest.mark.postgres
def test_the_projection_worker_finds_its_event_applied_by_the_rebuild_it_waited_for(
        two_on_postgres: tuple[Services, Services], postgres_url: str) -> None:
    rebuilder, other = two_on_postgres
    delivery = Delivery(other, postgres_url)
    loaded, go_on = threading.Event(), threading.Event()

    def indexing() -> None:  # the rebuild has loaded the tables (FIN's accession too) and still holds them
        loaded.set()
        assert go_on.wait(timeout=30)

    rebuilding = threading.Thread(target=lambda: rebuilder.rebuild_views(workers=0, indexing=indexing))
    rebuilding.start()
    assert loaded.wait(timeout=30)
    delivery.start_and_see_it_wait()
    go_on.set()
    rebuilding.join(timeout=30)
    assert delivery.result() is None
    assert [r.id for r in rebuilder.view.records("open-skies")].count(delivery.record.id) == 1
    assert parties(rebuilder, date(2003, 6, 1)) == ["FIN", "RUS", "USA"]


@pytest.mark.postgres
def test_the_projection_worker_goes_on_when_another_process_applied_events_past_its_position(
        two_on_postgres: tuple[Services, Services], postgres_url: str) -> None:
    """Between the worker reading its position and subscribing, the API applied an event the subscription never delivers."""
    rebuilder, other = two_on_postgres
    worker = LedgerProjection(open_view(postgres_url))  # at notification 4
    other.record_event("open-skies", acceded("FIN", "2002-12-13"))  # recorded and applied by the API: 5
    record = other.ledger.record_event("open-skies", acceded("SWE", "2002-12-14"))  # recorded elsewhere: 6
    [stored] = other.ledger.recorder.select_notifications(start=6, limit=1)
    worker.process_event(other.ledger.mapper.to_domain_event(stored), Tracking(APPLICATION_NAME, stored.id))
    assert worker.view.max_tracking_id(APPLICATION_NAME) == 6
    assert [r.id for r in rebuilder.view.records("open-skies")][-1] == record.id
    assert parties(rebuilder, date(2003, 6, 1)) == ["FIN", "RUS", "SWE", "USA"]
    worker.view.datastore.close()  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_after_a_rebuild_that_died_part_way_the_worker_writes_nothing_over_the_gap_and_says_so(
        two_on_postgres: tuple[Services, Services], postgres_url: str) -> None:
    rebuilder, other = two_on_postgres
    delivery = Delivery(other, postgres_url)
    view = rebuilder.view
    with view.rebuilding():
        view.drop_views(APPLICATION_NAME)  # ...and the rebuilding process dies here, letting go of the hold
        delivery.start_and_see_it_wait()
    error = delivery.result()
    assert isinstance(error, ViewsMoved), error
    assert view.max_tracking_id(APPLICATION_NAME) is None  # the accession was not written over the gap
    assert rebuilder.projection.catch_up(rebuilder.ledger) == 5  # what `treaty-ledger project` does next
    assert parties(rebuilder, date(2003, 6, 1)) == ["FIN", "RUS", "USA"]


@pytest.mark.postgres
def test_a_rebuild_that_gives_up_on_a_slow_write_says_so_and_applies_what_others_recorded_meanwhile(
        two_on_postgres: tuple[Services, Services], postgres_url: str) -> None:
    rebuilder, other = two_on_postgres
    rebuilder.view.rebuild_lock_wait = 1.0
    outcome: list[BaseException | None] = []
    with other.view.write_cursor():  # a write in progress that outlasts the rebuild's patience
        rebuilding = threading.Thread(target=lambda: outcome.append(outcome_of(lambda: rebuilder.rebuild_views(workers=0))))
        rebuilding.start()
        assert an_advisory_lock_request_queues(postgres_url), "the rebuild never queued for the views"
        with closing(open_services(postgres_url)) as third:  # a third process writes while the rebuild waits
            third.ledger.record_event("open-skies", acceded("FIN", "2002-12-13"))
            assert third.projection.catch_up(third.ledger) == 0  # it stands back for the rebuild
        rebuilding.join(timeout=30)
    assert isinstance(outcome[0], ViewsBusy) and "still in progress after 1 s" in str(outcome[0])
    assert rebuilder.view.max_tracking_id(APPLICATION_NAME) == rebuilder.ledger.recorder.max_notification_id()
    assert parties(other, date(2003, 6, 1)) == ["FIN", "RUS", "USA"]


@pytest.mark.postgres
def test_opening_views_with_an_index_missing_beside_a_write_in_progress_does_not_deadlock(
        two_on_postgres: tuple[Services, Services], postgres_url: str) -> None:
    """An interrupted rebuild leaves indexes uncreated; opening the views creates them one transaction each."""
    _, other = two_on_postgres
    url = parse_database_url(postgres_url)
    with url.connect() as conn:
        conn.execute(f'DROP INDEX "{url.schema}".tl_records_state')
        conn.commit()
    tracking, records, intervals = (f'"{url.schema}".{name}' for name in ("treaty_views_tracking", "tl_records", "tl_intervals"))
    opened: list[object] = []
    with url.connect() as writer, writer.transaction():
        # A write in progress, in the order the views' writes take their locks.
        writer.execute("SELECT pg_advisory_xact_lock_shared(%s)", (other.view.lock_key(),))  # type: ignore[attr-defined]
        writer.execute(f"UPDATE {tracking} SET notification_id = notification_id WHERE application_name = %s", (APPLICATION_NAME,))
        writer.execute(f"LOCK TABLE {records} IN ROW EXCLUSIVE MODE")
        starting = threading.Thread(target=lambda: opened.append(open_view(postgres_url)))
        starting.start()
        starting.join(timeout=2)  # the opener now waits for this write to create the index
        writer.execute("SET LOCAL lock_timeout = '10s'")
        writer.execute(f"LOCK TABLE {intervals} IN ROW EXCLUSIVE MODE")  # must not be held by the opener
    starting.join(timeout=30)
    assert len(opened) == 1
    assert "tl_records_state" in index_names(postgres_url)
    opened[0].datastore.close()  # type: ignore[attr-defined]


def test_every_name_of_one_sqlite_file_finds_the_same_rebuild_hold(tmp_path: Path) -> None:
    real = tmp_path / "ledger.db"
    alias = tmp_path / "alias.db"
    with closing(open_services(f"sqlite:///{real}")) as services:
        alias.symlink_to(real)
        names = (f"sqlite:///{alias}", f"sqlite:///file://localhost{real}?mode=rw", f"sqlite:///file:{real}")
        others = [open_services(name) for name in names]
        try:
            with services.view.rebuilding():
                assert [other.view.held_by_a_rebuild() for other in others] == [True, True, True]
            assert [other.view.held_by_a_rebuild() for other in others] == [False, False, False]
        finally:
            for other in others:
                other.close()
