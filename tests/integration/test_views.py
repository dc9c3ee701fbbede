"""The materialized views: read-after-write, rebuild, crashes mid-batch, the worker, other treaties."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.command_line import run_cli
from tests.integration.helpers import execute
from tests.scenario import SOURCE, acceded, event, in_force, notified, ratified, signed
from treaty_ledger.bootstrap import Services, open_ledger, open_services
from treaty_ledger.domain.errors import EventNotFound, TreatyNotFound
from treaty_ledger.projections.replay import membership_by_replay
from treaty_ledger.store.projection import APPLICATION_NAME, ViewsIncomplete
from treaty_ledger.store.rebuild import RebuildFailed
from treaty_ledger.store.views import LedgerView


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    opened = open_services(database_url)
    yield opened
    opened.close()


def open_skies(services: Services) -> None:
    services.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "depositaries": ["CAN", "HUN"],
                              "rules": {"withdrawal_notice": "P6M", "late_joiner_delay": "P60D"}, "source": SOURCE})
    for body in (signed("USA", "1992-03-24"), signed("KGZ", "1992-12-15"), ratified("USA", "1993-12-03"),
                 ratified("RUS", "2001-11-02"), in_force("2002-01-01"), acceded("FIN", "2002-12-13"),
                 notified("USA", "2020-05-22"), notified("RUS", "2021-06-18")):
        services.record_event("open-skies", body)


def inf_treaty(services: Services, between: Callable[[], object] = lambda: None) -> None:
    """A second treaty, three events (``between`` runs after each: to interleave another treaty's)."""
    services.register_treaty({"id": "inf", "title": "INF Treaty", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE})
    for body in (ratified("USA", "1988-05-27"), ratified("RUS", "1988-05-28"), notified("USA", "2019-02-02")):
        services.record_event("inf", body)
        between()


def all_rows(url: str) -> list[tuple[Any, ...]]:
    return sorted(
        tuple(str(v) for v in row)
        for row in execute(url, f"SELECT treaty, kind, key, since, until, known_from, known_to, doc FROM {_intervals(url)}")
    )


def index_names(url: str) -> list[str]:
    if url.startswith("sqlite"):
        return [name for (name,) in execute(url, "SELECT name FROM sqlite_master WHERE type = 'index'")]
    schema = url.rsplit("schema=", 1)[1]
    return [name for (name,) in execute(url, "SELECT indexname FROM pg_indexes WHERE schemaname = ?", (schema,))]


def _intervals(url: str) -> str:
    return _view_table(url, "tl_intervals")


def _view_table(url: str, name: str) -> str:
    return name if url.startswith("sqlite") else f'"{url.rsplit("schema=", 1)[1]}".{name}'


class TestReadAfterWrite:
    def test_a_read_after_a_write_sees_it(self, services: Services) -> None:
        open_skies(services)
        membership = services.read.membership_as_of("open-skies", date(2020, 6, 1))
        assert membership["parties"] == ["FIN", "RUS", "USA"]
        assert membership["withdrawing"] == [{"state": "USA", "notified_on": "2020-05-22", "effective_on": "2020-11-22"}]
        assert membership["signatories"] == ["KGZ"]
        assert services.read.membership_as_of("open-skies", date(2022, 1, 1))["parties"] == ["FIN"]

    def test_rows_without_an_end_hold_up_to_the_last_date_there_is(self, services: Services) -> None:
        open_skies(services)
        treaty = services.ledger.treaty("open-skies")
        for day in (date(2022, 1, 1), date(9999, 12, 30), date(9999, 12, 31)):
            answer = services.read.membership_as_of("open-skies", day)
            assert answer == membership_by_replay("open-skies", treaty.rules, treaty.records, day), day
            assert answer["parties"] == ["FIN"] and answer["in_force"], day

    def test_every_answer_names_the_events_it_rests_on(self, services: Services) -> None:
        open_skies(services)
        answer = services.read.state_as_of("open-skies", "USA", date(2020, 6, 1))
        recorded = {r.id: r for r in services.ledger.list_events("open-skies")}
        assert {recorded[i].type for i in answer["events"]} == {"signed", "ratified", "entered_into_force", "withdrawal_notified"}
        assert answer["status"] == "withdrawing" and answer["effective_on"] == "2020-11-22"

    def test_a_correction_shows_from_its_recorded_time_and_the_event_shows_its_history(self, services: Services) -> None:
        open_skies(services)
        finland = services.ledger.list_events("open-skies")[5]
        fix = services.record_event("open-skies", event("correction", corrects=finland.id, changes={"date": "2002-12-12"}))
        assert services.read.state_as_of("open-skies", "FIN", date(2003, 2, 10))["status"] == "party"
        before = services.read.state_as_of("open-skies", "FIN", date(2003, 2, 10), known_at=finland.recorded_at)
        assert before["status"] == "contracting"
        history = services.read.event(finland.id)
        assert [c["id"] for c in history["corrections"]] == [fix.id] and history["retracted"] is False
        with pytest.raises(EventNotFound):
            services.read.event("6f1c1f4e-0000-4000-8000-000000000000")

    def test_an_unknown_treaty_is_a_clear_error(self, services: Services) -> None:
        with pytest.raises(TreatyNotFound, match="no treaty with id 'nope'"):
            services.read.membership_as_of("nope", date(2020, 1, 1))

    def test_the_audit_history_pages_in_recorded_order(self, services: Services) -> None:
        open_skies(services)
        first = services.read.events("open-skies", limit=5)
        second = services.read.events("open-skies", limit=5, cursor=first.next_cursor)
        assert [r.sequence for r in first.events + second.events] == list(range(1, 9))
        assert second.next_cursor is None
        assert [r.type for r in services.read.events("open-skies", state="USA").events] == ["signed", "ratified", "withdrawal_notified"]


def rebuild(database_url: str, *options: str) -> subprocess.CompletedProcess[str]:
    """``treaty-ledger rebuild``, run in process unless it spawns worker processes (they import the program again)."""
    args = ["rebuild", "--database", database_url, *options]
    if "--workers" in options:
        return subprocess.run([sys.executable, "-m", "treaty_ledger.cli", *args], capture_output=True, text=True, timeout=120, check=False)
    result = run_cli(*args[:1], *options, database=database_url)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


class TestCommandLine:
    def test_views_that_lack_a_treaty_ask_for_a_rebuild_and_stop_the_worker_with_that_message(
            self, services: Services, database_url: str) -> None:
        open_skies(services)
        execute(database_url, f"DELETE FROM {_view_table(database_url, 'tl_treaties')}")  # damaged views
        with closing(open_ledger(database_url)) as ledger:
            ledger.record_event("open-skies", acceded("UKR", "2004-01-01"))
        with pytest.raises(ViewsIncomplete, match=r"hold no treaty .* rebuild them \(treaty-ledger rebuild\)"):
            open_services(database_url)
        result = subprocess.run([sys.executable, "-m", "treaty_ledger.cli", "project", "--database", database_url, "--poll-interval", "0.1"],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 2
        assert "error: the views hold no treaty" in result.stderr and "Traceback" not in result.stderr

    def test_state_says_since_when_only_for_a_state_with_standing(self, services: Services, database_url: str) -> None:
        open_skies(services)

        def state(code: str) -> str:
            result = run_cli("state", "open-skies", code, "--as-of", "2020-06-01", database=database_url)
            assert result.exit_code == 0, result.stderr
            return " ".join(result.stdout.split())

        assert "withdrawing since 2020-05-22, effective 2020-11-22" in state("USA")
        assert "as of 2020-06-01: none" in state("FRA") and "since" not in state("FRA")


class TestRebuild:
    @pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["in-process", "two-workers"])
    def test_a_rebuilt_view_answers_exactly_as_the_incrementally_built_one(
            self, services: Services, database_url: str, workers: list[str]) -> None:
        open_skies(services)
        services.register_treaty({"id": "inf", "title": "INF Treaty", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE})
        services.record_event("inf", ratified("USA", "1988-05-27"))
        finland = services.ledger.list_events("open-skies")[5]
        services.record_event("open-skies", event("correction", corrects=finland.id, changes={"date": "2002-12-12"}))
        services.record_event("open-skies", event("restriction_imposed", "2015-06-05", "RUS", area="Kaliningrad", kind="distance",
                                                  detail="500 km\tmaximum \\ \"flight\" distance\nover Kaliningrad"))
        services.record_event("inf", notified("USA", "2019-02-02"))
        incremental = all_rows(database_url)
        result = rebuild(database_url, *workers)
        assert result.returncode == 0, result.stderr
        assert "rebuilt the views from 14 events" in result.stdout
        assert all_rows(database_url) == incremental
        assert services.read.refresh() == 0

    def test_an_in_process_rebuild_reloads_evicted_treaties_only_after_the_pending_write(
            self, services: Services, database_url: str) -> None:
        open_skies(services)
        inf_treaty(services, between=lambda: services.record_event(
            "open-skies", event("statement", "2019-03-01", "RUS", summary="a statement")))
        incremental = all_rows(database_url)
        projection = services.projection
        projection.rebuild_batch_size = 2  # every other event is in a new batch, written while the next is folded
        projection.max_cached_treaties = 1  # and the treaty it needs was evicted meanwhile
        assert services.rebuild_views(workers=0) == 16
        assert all_rows(database_url) == incremental

    def test_a_parallel_rebuild_window_by_window_then_recording_goes_on_as_before(
            self, services: Services, database_url: str) -> None:
        open_skies(services)
        inf_treaty(services)
        incremental = all_rows(database_url)
        services.projection.rebuild_batch_size = 2  # rows started in one window are closed by id in later ones
        assert services.rebuild_views(workers=2) == 13
        assert all_rows(database_url) == incremental
        services.record_event("open-skies", event("withdrawal_rescinded", "2020-08-01", "USA"))
        services.record_event("inf", notified("RUS", "2019-03-04"))
        for treaty, day in (("open-skies", date(2020, 9, 1)), ("inf", date(2019, 9, 4))):
            aggregate = services.ledger.treaty(treaty)
            assert services.read.membership_as_of(treaty, day) == membership_by_replay(treaty, aggregate.rules, aggregate.records, day)

    def test_a_process_left_running_through_a_rebuild_elsewhere_reads_the_new_views_back(self, database_url: str) -> None:
        with closing(open_services(database_url)) as running, closing(open_services(database_url)) as other:
            open_skies(running)
            running.read.membership_as_of("open-skies", date(2020, 6, 1))  # its cache now holds the treaty's rows
            other.rebuild_views(workers=0)
            running.record_event("open-skies", event("withdrawal_rescinded", "2020-08-01", "USA"))
            aggregate = running.ledger.treaty("open-skies")
            for day in (date(2020, 6, 1), date(2020, 9, 1), date(2021, 1, 1)):
                assert running.read.membership_as_of("open-skies", day) == membership_by_replay(
                    "open-skies", aggregate.rules, aggregate.records, day)
            assert running.read.membership_as_of("open-skies", date(2021, 1, 1))["parties"] == ["FIN", "RUS", "USA"]

    def test_rebuilding_again_and_again_keeps_the_store_openable(self, database_url: str) -> None:
        with closing(open_services(database_url)) as services:
            open_skies(services)
            expected = services.read.membership_as_of("open-skies", date(2020, 6, 1))
        for _ in range(3):
            with closing(open_services(database_url)) as services:
                services.rebuild_views(workers=0)
        with closing(open_services(database_url)) as services:
            assert services.read.membership_as_of("open-skies", date(2020, 6, 1)) == expected

    def test_a_store_whose_tracking_marker_an_earlier_version_deleted_opens(self, database_url: str) -> None:
        with closing(open_services(database_url)) as services:
            open_skies(services)
            expected = services.read.membership_as_of("open-skies", date(2020, 6, 1))
        # What rebuilds before this version left after two rounds: no marker row, and the backup
        # eventsourcing made the first time it took the table for an old one.
        if database_url.startswith("sqlite"):
            tracking, backup = "tracking", "old1_tracking"
        else:
            schema = database_url.rsplit("schema=", 1)[1]
            tracking, backup = f'"{schema}".treaty_views_tracking', f'"{schema}".bkup1_treaty_views_tracking'
        execute(database_url, f"DELETE FROM {tracking} WHERE application_name = '__migration__'")
        execute(database_url, f"CREATE TABLE {backup} (application_name TEXT, notification_id INTEGER)")
        with closing(open_services(database_url)) as services:
            assert services.read.membership_as_of("open-skies", date(2020, 6, 1)) == expected

    def test_a_failing_rebuild_worker_leaves_the_views_at_the_last_window_written(self, services: Services, database_url: str) -> None:
        open_skies(services)
        stray = "6f1c1f4e-0000-4000-8000-0000000000ff"
        execute(database_url, "INSERT INTO {events} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                (stray, 1, "nowhere:Missing", b"{}"))
        services.projection.rebuild_batch_size = 2
        with pytest.raises(RebuildFailed, match=r"rebuild worker treaty-ledger-rebuild-.* failed: .*nowhere"):
            services.rebuild_views(workers=2)
        assert services.view.max_tracking_id(APPLICATION_NAME) == 8  # notifications 9 and 10 (the stray) are not applied

    def test_a_failing_rebuild_worker_stops_the_rebuild_and_names_the_cause(self, services: Services, database_url: str) -> None:
        open_skies(services)
        stray = "6f1c1f4e-0000-4000-8000-0000000000ff"
        execute(database_url, "INSERT INTO {events} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                (stray, 1, "nowhere:Missing", b"{}"))
        result = rebuild(database_url, "--workers", "2")
        assert result.returncode == 2
        assert "rebuild worker treaty-ledger-rebuild-" in result.stderr and "nowhere" in result.stderr

    def test_a_rebuild_loads_the_tables_first_and_then_creates_the_indexes_queries_need(
            self, services: Services, database_url: str) -> None:
        open_skies(services)
        view = services.view
        created: list[list[str]] = []

        def indexing() -> None:
            created.append(index_names(database_url))

        assert services.projection.rebuild(services.ledger, indexing=indexing) == 9
        assert not {"tl_records_id", "tl_records_state", "tl_intervals_recorded"} & set(created[0])
        assert {"tl_records_id", "tl_records_state", "tl_intervals_recorded", "tl_intervals_current"} <= set(index_names(database_url))
        assert view.max_tracking_id(APPLICATION_NAME) == services.ledger.recorder.max_notification_id()
        assert services.read.membership_as_of("open-skies", date(2020, 6, 1))["parties"] == ["FIN", "RUS", "USA"]

    def test_views_laid_out_by_an_older_version_are_rebuilt_when_opened(self, database_url: str) -> None:
        with closing(open_services(database_url)) as services:
            open_skies(services)
            expected = services.read.membership_as_of("open-skies", date(2020, 6, 1))
        table = _intervals(database_url)
        execute(database_url, f"DROP TABLE {table}")
        execute(database_url, f"CREATE TABLE {table} (treaty TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, since TEXT NOT NULL, "
                              "until TEXT, known_from TEXT NOT NULL, known_to TEXT, digest TEXT NOT NULL, doc TEXT NOT NULL)")
        with closing(open_services(database_url)) as services:
            assert services.read.membership_as_of("open-skies", date(2020, 6, 1)) == expected
            assert len(all_rows(database_url)) > 0

    def test_sqlite_answers_what_is_known_now_from_the_index_of_current_rows_and_past_knowledge_from_the_recorded_one(
            self, sqlite_url: str) -> None:
        # SQLite keeps no statistics of the views: with two indexes matching a query as well, it took the one created
        # last, which a rebuild changed. The plan must not depend on it.
        def plan(services: Services, known_at: datetime | None) -> str:
            statement, values = services.view.rows_on_query("open-skies", date(2020, 6, 1), known_at, ("phase", "status", "suspension"))
            return " ".join(str(row[-1]) for row in execute(sqlite_url, "EXPLAIN QUERY PLAN " + statement, tuple(values)))

        with closing(open_services(sqlite_url)) as services:
            open_skies(services)
            earlier = datetime.now(UTC)
            for rebuilt in (False, True):
                if rebuilt:
                    assert services.rebuild_views(workers=0) == 9
                assert "USING INDEX tl_intervals_current" in plan(services, None), rebuilt
                assert "USING INDEX tl_intervals_recorded" in plan(services, earlier), rebuilt

    def test_an_index_an_earlier_version_made_is_dropped_when_the_views_are_opened(self, database_url: str) -> None:
        with closing(open_services(database_url)) as services:
            open_skies(services)
            expected = services.read.membership_as_of("open-skies", date(2020, 6, 1))
        # What an earlier version created, and writes would keep up to date for nothing.
        execute(database_url, f"CREATE INDEX tl_intervals_now ON {_intervals(database_url)} (treaty, kind, since) WHERE known_to IS NULL")
        assert "tl_intervals_now" in index_names(database_url)
        with closing(open_services(database_url)) as services:
            assert "tl_intervals_now" not in index_names(database_url)
            assert "tl_intervals_current" in index_names(database_url)
            assert services.read.membership_as_of("open-skies", date(2020, 6, 1)) == expected

    def test_a_crash_mid_batch_applies_nothing_and_the_next_catch_up_applies_everything_once(self, database_url: str) -> None:
        writer = open_ledger(database_url)
        writer.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE})
        for body in (ratified("USA", "1993-12-03"), in_force("2002-01-01"), notified("USA", "2020-05-22")):
            writer.record_event("open-skies", body)
        services = open_services(database_url, catch_up=False)
        view = services.view
        original = type(view).write_rows

        def crash(self: LedgerView, c: Any, rows: Any) -> None:
            original(self, c, rows)
            raise RuntimeError("power cut")

        type(view).write_rows = crash  # type: ignore[method-assign]
        try:
            with pytest.raises(RuntimeError, match="power cut"):
                services.read.refresh()
        finally:
            type(view).write_rows = original  # type: ignore[method-assign]
        assert view.max_tracking_id(APPLICATION_NAME) is None
        assert view.treaty_row("open-skies") is None
        assert services.read.refresh() == 4
        treaty = writer.treaty("open-skies")
        for day in (date(2001, 1, 1), date(2002, 1, 1), date(2020, 6, 1), date(2020, 11, 22)):
            assert services.read.membership_as_of("open-skies", day) == membership_by_replay(
                "open-skies", treaty.rules, treaty.records, day)
        services.close()


@pytest.mark.postgres
def test_the_worker_follows_writes_made_by_another_process(postgres_url: str) -> None:
    writer = open_ledger(postgres_url)
    writer.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE})
    worker = subprocess.Popen([sys.executable, "-m", "treaty_ledger.cli", "project", "--database", postgres_url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        reader = open_services(postgres_url, catch_up=False)
        record = writer.record_event("open-skies", ratified("USA", "1993-12-03"))
        writer.record_event("open-skies", in_force("2002-01-01"))
        last = writer.recorder.max_notification_id()
        reader.view.wait(APPLICATION_NAME, last, timeout=30)
        assert reader.read.membership_as_of("open-skies", date(2002, 1, 1))["parties"] == ["USA"]
        assert reader.view.record_by_id(record.id) is not None
        reader.close()
    finally:
        worker.terminate()
        worker.wait(timeout=30)


class TestOtherTreaties:
    def test_the_paris_agreement_earliest_notice_withdrawal_and_return(self, services: Services) -> None:
        services.register_treaty({"id": "paris-agreement", "title": "Paris Agreement", "depositaries": [],
                                  "rules": {"withdrawal_notice": "P1Y", "late_joiner_delay": "P30D", "earliest_withdrawal_notice": "P3Y"},
                                  "source": {"title": "Paris Agreement, Article 28"}})
        for body in (event("adopted", "2015-12-12"), signed("USA", "2016-04-22"),
                     event("ratified", "2016-09-03", "USA", instrument="acceptance"), in_force("2016-11-04"),
                     notified("USA", "2019-11-04"), event("ratified", "2021-01-20", "USA", instrument="acceptance")):
            services.record_event("paris-agreement", body)
        status = {d: services.read.state_as_of("paris-agreement", "USA", date.fromisoformat(d))["status"]
                  for d in ("2016-09-03", "2016-11-04", "2019-11-04", "2020-11-04", "2021-01-20", "2021-02-19")}
        assert status == {"2016-09-03": "contracting", "2016-11-04": "party", "2019-11-04": "withdrawing",
                          "2020-11-04": "withdrawn", "2021-01-20": "contracting", "2021-02-19": "party"}

    def test_the_inf_treaty_succession_and_termination_of_a_bilateral_treaty(self, services: Services) -> None:
        services.register_treaty({"id": "inf", "title": "Intermediate-Range Nuclear Forces Treaty",
                                  "rules": {"withdrawal_notice": "P6M", "minimum_parties": 2}, "source": {"title": "INF Treaty"}})
        for body in (signed("USA", "1987-12-08"), signed("SUHH", "1987-12-08"), ratified("USA", "1988-05-27"),
                     ratified("SUHH", "1988-05-28"), in_force("1988-06-01"),
                     event("succeeded", "1991-12-26", "RUS", predecessor="SUHH"), notified("USA", "2019-02-02")):
            services.record_event("inf", body)
        assert services.read.membership_as_of("inf", date(1990, 1, 1))["parties"] == ["SUHH", "USA"]
        assert services.read.membership_as_of("inf", date(1992, 1, 1))["parties"] == ["RUS", "USA"]
        before_end = services.read.membership_as_of("inf", date(2019, 8, 1))
        assert before_end["in_force"] and before_end["withdrawing"][0]["effective_on"] == "2019-08-02"
        after = services.read.membership_as_of("inf", date(2019, 8, 2))
        assert (after["in_force"], after["phase"], after["parties"]) == (False, "terminated", [])


def test_views_stay_right_when_treaties_leave_the_projection_cache(sqlite_url: str) -> None:
    writer = open_ledger(sqlite_url)
    slugs = [f"treaty-{i}" for i in range(5)]
    for slug in slugs:
        writer.register_treaty({"id": slug, "title": slug, "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE})
    for body in (ratified("USA", "1993-12-03"), ratified("RUS", "1994-01-01"), in_force("2002-01-01"), notified("USA", "2020-05-22")):
        for slug in slugs:  # interleaved: each batch touches every treaty
            writer.record_event(slug, body)
    services = open_services(sqlite_url, catch_up=False)
    services.projection.max_cached_treaties = 2
    services.projection.catch_up(writer, batch_size=3)
    for slug in slugs:
        treaty = writer.treaty(slug)
        for day in (date(2001, 1, 1), date(2002, 1, 1), date(2020, 6, 1), date(2021, 1, 1)):
            assert services.read.membership_as_of(slug, day) == membership_by_replay(slug, treaty.rules, treaty.records, day)
    assert len(services.projection._projectors) <= 2
    services.close()


@pytest.mark.parametrize("setting", ["OFF", "ON", "FAST"])
def test_sqlite_puts_back_each_secure_delete_setting_even_when_a_drop_fails(sqlite_url: str, setting: str) -> None:
    with closing(open_services(sqlite_url)) as services:
        view = services.projection.view
        with view.cursor(commit=False) as c:
            c.execute(f"PRAGMA secure_delete = {setting}")
            c.execute("PRAGMA secure_delete")
            before = c.fetchone()[0]
            with pytest.raises(sqlite3.OperationalError), view.dropping(c):
                c.sqlite_cursor.execute("DROP TABLE no_such_table")
            c.execute("PRAGMA secure_delete")
            assert c.fetchone()[0] == before == {"OFF": 0, "ON": 1, "FAST": 2}[setting]


def test_sqlite_drops_the_views_without_zeroing_their_pages_and_keeps_the_connection_setting(sqlite_url: str) -> None:
    with closing(open_services(sqlite_url)) as services:
        open_skies(services)
        view = services.projection.view
        with view.cursor(commit=False) as c:
            c.execute("PRAGMA secure_delete")
            setting = c.fetchone()[0]
            with view.dropping(c):
                c.execute("PRAGMA secure_delete")
                assert c.fetchone()[0] == 0
            c.execute("PRAGMA secure_delete")
            assert c.fetchone()[0] == setting
        expected = services.read.membership_as_of("open-skies", date(2020, 6, 1))
        services.rebuild_views(workers=0)
        assert services.read.membership_as_of("open-skies", date(2020, 6, 1)) == expected
        with view.cursor(commit=False) as c:
            c.execute("PRAGMA secure_delete")
            assert c.fetchone()[0] == setting
