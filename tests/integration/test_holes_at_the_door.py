"""Holes in the error contract found by fuzzing, closed: each is a clear error naming the field, and nothing is stored.

Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.integration.helpers import drop_immutability, execute
from tests.integration.test_store import open_skies, verify_cli
from tests.scenario import SOURCE, acceded, event, in_force, notified, ratified, signed
from treaty_ledger.bootstrap import Services, open_ledger, open_services
from treaty_ledger.domain.errors import InvalidDate, InvalidInput, LedgerError

OPEN_SKIES = {"withdrawal_notice": "P6M", "late_joiner_delay": "P60D"}


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    opened = open_services(database_url)
    yield opened
    opened.close()


def treaty(services: Services, slug: str = "open-skies", rules: dict[str, Any] | None = None) -> str:
    """A treaty in force since 2002 with the United States a party."""
    services.register_treaty({"id": slug, "title": "Treaty on Open Skies", "rules": OPEN_SKIES if rules is None else rules, "source": SOURCE})
    for body in (ratified("USA", "1993-12-03"), in_force("2002-01-01")):
        services.record_event(slug, body)
    return slug


def cursor_of(text: str) -> str:
    """A cursor as the server encodes one (URL-safe base64 of JSON, unpadded), around any JSON text."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def stored_rows(services: Services) -> int:
    return int(execute(str(services.database.url), "SELECT COUNT(*) FROM {events}")[0][0])


def rejected(services: Services, slug: str, body: dict[str, Any], error: type[LedgerError]) -> LedgerError:
    """Recording ``body`` raises ``error``; neither the store nor the views hold anything new."""
    rows, events = stored_rows(services), len(services.read.events(slug).events)
    with pytest.raises(error) as caught:
        services.record_event(slug, body)
    assert stored_rows(services) == rows
    services.read.refresh()
    assert len(services.read.events(slug).events) == events
    return caught.value


class TestDatesPastTheLastDate:
    def test_a_notice_dated_in_9999_11_whose_effect_falls_past_9999_is_an_invalid_date_naming_the_date(self, services: Services) -> None:
        error = rejected(services, treaty(services), notified("USA", "9999-11-15"), InvalidDate)
        assert error.field == "date"
        assert "9999-11-15" in error.reason

    def test_a_notice_period_that_ends_past_9999_is_an_invalid_date_naming_the_date(self, services: Services) -> None:
        slug = treaty(services, "long-notice", {"withdrawal_notice": "P8000Y"})
        error = rejected(services, slug, notified("USA", "2020-05-22"), InvalidDate)
        assert (error.field, error.reason) == ("date", "P8000Y after 2020-05-22 falls past 9999-12-31, the last date the ledger can hold")

    def test_a_late_joiners_delay_that_ends_past_9999_is_an_invalid_date_naming_the_date(self, services: Services) -> None:
        slug = treaty(services, "long-delay", {"late_joiner_delay": "P8000Y"})
        error = rejected(services, slug, acceded("FIN", "2003-02-03"), InvalidDate)
        assert (error.field, error.reason) == ("date", "P8000Y after 2003-02-03 falls past 9999-12-31, the last date the ledger can hold")


class TestActsDatedAfterTheDayTheyAreRecorded:
    def test_a_signature_dated_2999_is_an_invalid_date_naming_the_date(self, services: Services) -> None:
        error = rejected(services, treaty(services), signed("GBR", "2999-01-01"), InvalidDate)
        assert error.field == "date"
        assert error.reason.startswith("2999-01-01 is after ")

    def test_a_correction_moving_a_date_past_the_day_it_is_recorded_is_an_invalid_date_naming_changes_date(self, services: Services) -> None:
        slug = treaty(services)
        target = services.ledger.list_events(slug)[0]
        error = rejected(services, slug, event("correction", corrects=target.id, changes={"date": "2999-01-01"}), InvalidDate)
        assert error.field == "changes.date"

    def test_a_batch_with_one_act_dated_ahead_records_nothing(self, services: Services) -> None:
        slug = treaty(services)
        rows = stored_rows(services)
        with pytest.raises(InvalidDate) as caught:
            services.ledger.record_many(slug, [signed("GBR", "1992-03-24"), ratified("GBR", "2999-01-01")])
        assert caught.value.field == "date"
        assert stored_rows(services) == rows

    def test_a_withdrawal_notice_may_name_an_effect_after_the_day_it_is_recorded(self, services: Services) -> None:
        slug = treaty(services)
        services.record_event(slug, notified("USA", "2020-05-22", effective_on="2999-01-01"))
        assert services.read.state_as_of(slug, "USA", date(2998, 12, 31))["status"] == "withdrawing"


class TestCursorsTheServerNeverGaveOut:
    @pytest.mark.parametrize("after", ["true", "false", str(10**30), str(2**31), "-1", "1.0", '"1"', "null"])
    def test_a_cursor_naming_no_sequence_is_an_invalid_input_naming_the_cursor(self, services: Services, after: str) -> None:
        slug = treaty(services)
        with pytest.raises(InvalidInput) as caught:
            services.read.events(slug, cursor=cursor_of(f'{{"after": {after}}}'))
        assert (caught.value.field, caught.value.reason) == ("cursor", "not a cursor this server gave out; pass back next_cursor unchanged")

    def test_a_cursor_of_deeply_nested_json_is_an_invalid_input_naming_the_cursor(self, services: Services) -> None:
        slug = treaty(services)
        with pytest.raises(InvalidInput) as caught:
            services.read.events(slug, cursor=cursor_of("[" * 100_000))
        assert caught.value.field == "cursor"

    def test_the_cursor_the_server_gives_out_still_turns_the_page(self, services: Services) -> None:
        slug = treaty(services)
        first = services.read.events(slug, limit=1)
        assert first.next_cursor is not None
        second = services.read.events(slug, limit=1, cursor=first.next_cursor)
        assert [r.sequence for r in first.events + second.events] == [1, 2]
        assert second.next_cursor is None
        largest = services.read.events(slug, cursor=cursor_of(json.dumps({"after": 2**31 - 1})))
        assert largest.events == []


def tamper(url: str, version: int, old: bytes, new: bytes) -> None:
    """Rewrite the stored JSON of the entry at aggregate ``version``, as an intruder with database access could."""
    drop_immutability(url)
    state = bytes(execute(url, "SELECT state FROM {events} WHERE originator_version = ?", (version,))[0][0])
    assert old in state
    execute(url, "UPDATE {events} SET state = ? WHERE originator_version = ?", (state.replace(old, new), version))


class TestVerifyOnStoredEventsWithForeignFields:
    def test_a_stored_event_whose_event_type_key_was_renamed_is_reported_not_a_traceback(self, database_url: str) -> None:
        target = open_skies(database_url).list_events("open-skies")[2]  # RUS ratified, sequence 3, aggregate version 4
        tamper(database_url, 4, b'"event_type"', b'"kind"')
        report = open_ledger(database_url).verify()
        assert not report.ok and report.first_bad is not None
        assert (report.first_bad["treaty"], report.first_bad["sequence"], report.first_bad["id"]) == ("open-skies", 3, target.id)
        assert report.first_bad["reason"] == "its stored fields are not those of a recorded event: missing 'event_type'; unexpected 'kind'"
        assert open_ledger(database_url).verify("open-skies").first_bad == report.first_bad
        result = verify_cli(database_url)
        assert result.exit_code == 1
        assert "Traceback" not in result.stderr
        assert f"treaty open-skies, event {target.id} (sequence 3)" in result.stderr and "missing 'event_type'" in result.stderr

    def test_a_stored_event_holding_a_value_of_the_wrong_kind_is_reported(self, database_url: str) -> None:
        open_skies(database_url)
        tamper(database_url, 4, b'"fields":{"state":"RUS"}', b'"fields":5')
        report = open_ledger(database_url).verify()
        assert not report.ok and report.first_bad is not None
        assert (report.first_bad["treaty"], report.first_bad["sequence"]) == ("open-skies", 3)
        assert report.first_bad["reason"].startswith("its stored values do not make a recorded event: ")

    def test_a_registration_whose_slug_key_was_renamed_is_reported_naming_the_treatys_aggregate(self, database_url: str) -> None:
        open_skies(database_url)
        tamper(database_url, 1, b'"slug"', b'"name"')
        result = verify_cli(database_url)
        assert result.exit_code == 1 and "Traceback" not in result.stderr
        assert "(sequence 0)" in result.stderr and "missing 'slug'; unexpected 'name'" in result.stderr
