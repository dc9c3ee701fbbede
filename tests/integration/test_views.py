"""The materialized views: read-after-write, rebuild, crashes mid-batch, the worker, other treaties."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from domain.errors import EventNotFound, TreatyNotFound
from projections.bootstrap import Services, open_ledger, open_services
from projections.projection import APPLICATION_NAME
from projections.replay import membership_by_replay
from projections.views import LedgerView
from tests.integration.helpers import execute
from tests.scenario import SOURCE, acceded, event, in_force, notified, ratified, signed


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


def all_rows(url: str) -> list[tuple[Any, ...]]:
    return sorted(
        tuple(str(v) for v in row)
        for row in execute(url, "SELECT treaty, kind, key, since, until, known_from, known_to, doc FROM tl_intervals".replace(
            "tl_intervals", "{events}").replace("{events}", _intervals(url)))
    )


def _intervals(url: str) -> str:
    return "tl_intervals" if url.startswith("sqlite") else f'"{url.rsplit("schema=", 1)[1]}".tl_intervals'


class TestReadAfterWrite:
    def test_a_read_after_a_write_sees_it(self, services: Services) -> None:
        open_skies(services)
        membership = services.read.membership_as_of("open-skies", date(2020, 6, 1))
        assert membership["parties"] == ["FIN", "RUS", "USA"]
        assert membership["withdrawing"] == [{"state": "USA", "notified_on": "2020-05-22", "effective_on": "2020-11-22"}]
        assert membership["signatories"] == ["KGZ"]
        assert services.read.membership_as_of("open-skies", date(2022, 1, 1))["parties"] == ["FIN"]

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


class TestRebuild:
    def test_a_rebuilt_view_answers_exactly_as_the_incrementally_built_one(self, services: Services, database_url: str) -> None:
        open_skies(services)
        finland = services.ledger.list_events("open-skies")[5]
        services.record_event("open-skies", event("correction", corrects=finland.id, changes={"date": "2002-12-12"}))
        services.record_event("open-skies", event("restriction_imposed", "2015-06-05", "RUS", area="Kaliningrad", kind="distance", detail="500 km"))
        incremental = all_rows(database_url)
        result = subprocess.run([sys.executable, "-m", "api", "rebuild", "--database", database_url],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        assert "rebuilt the views from 11 events" in result.stdout
        assert all_rows(database_url) == incremental

    def test_a_crash_mid_batch_applies_nothing_and_the_next_catch_up_applies_everything_once(self, database_url: str) -> None:
        writer = open_ledger(database_url)
        writer.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE})
        for body in (ratified("USA", "1993-12-03"), in_force("2002-01-01"), notified("USA", "2020-05-22")):
            writer.record_event("open-skies", body)
        services = open_services(database_url, catch_up=False)
        view = services.read.view
        original = LedgerView.write_changes

        def crash(self: LedgerView, c: Any, changes: Any) -> None:
            original(self, c, changes)
            raise RuntimeError("power cut")

        LedgerView.write_changes = crash  # type: ignore[method-assign]
        try:
            with pytest.raises(RuntimeError, match="power cut"):
                services.read.refresh()
        finally:
            LedgerView.write_changes = original  # type: ignore[method-assign]
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
    worker = subprocess.Popen([sys.executable, "-m", "api", "project", "--database", postgres_url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        reader = open_services(postgres_url, catch_up=False)
        record = writer.record_event("open-skies", ratified("USA", "1993-12-03"))
        writer.record_event("open-skies", in_force("2002-01-01"))
        last = writer.recorder.max_notification_id()
        reader.read.view.wait(APPLICATION_NAME, last, timeout=30)
        assert reader.read.membership_as_of("open-skies", date(2002, 1, 1))["parties"] == ["USA"]
        assert reader.read.view.record_by_id(record.id) is not None
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
    services.read.projection.max_cached_treaties = 2
    services.read.projection.catch_up(writer, batch_size=3)
    for slug in slugs:
        treaty = writer.treaty(slug)
        for day in (date(2001, 1, 1), date(2002, 1, 1), date(2020, 6, 1), date(2021, 1, 1)):
            assert services.read.membership_as_of(slug, day) == membership_by_replay(slug, treaty.rules, treaty.records, day)
    assert len(services.read.projection._projectors) <= 2  # noqa: SLF001 - the cache really was trimmed
    services.close()
