"""Dates at the door: a duration that runs past 9999-12-31, or an act dated after the day it is
recorded, is an InvalidDate naming the field, never a crash, and nothing is recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tests.scenario import SOURCE, Scenario, acceded, event, in_force, notified, ratified, signed
from treaty_ledger.domain.dates import Duration
from treaty_ledger.domain.errors import InvalidDate
from treaty_ledger.domain.events import normalise_event
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.treaty import Treaty


class TestADurationPastTheLastDate:
    def test_six_months_after_a_day_in_9999_11_is_an_invalid_date_naming_the_date(self) -> None:
        with pytest.raises(InvalidDate) as caught:
            Duration(months=6).after(date(9999, 11, 15))
        assert caught.value.field == "date"
        assert caught.value.reason == "P6M after 9999-11-15 falls past 9999-12-31, the last date the ledger can hold"

    def test_one_day_after_the_last_date_is_an_invalid_date(self) -> None:
        with pytest.raises(InvalidDate, match="P1D after 9999-12-31 falls past 9999-12-31"):
            Duration(days=1).after(date.max)

    def test_more_days_than_the_calendar_counts_is_an_invalid_date(self) -> None:
        with pytest.raises(InvalidDate, match="falls past 9999-12-31"):
            Duration(days=10**12).after(date(2020, 1, 1))

    def test_a_caller_names_the_field_the_duration_runs_from(self) -> None:
        with pytest.raises(InvalidDate) as caught:
            Duration(years=10**20).after(date(2020, 1, 1), field="rules.withdrawal_notice")
        assert caught.value.field == "rules.withdrawal_notice"

    def test_a_duration_that_ends_on_the_last_date_is_still_a_date(self) -> None:
        assert Duration(months=1).after(date(9999, 11, 30)) == date(9999, 12, 30)
        assert Duration(days=1).after(date(9999, 12, 30)) == date.max


class TestRulesWhoseDatesFallPastTheLastDate:
    """Every rule's arithmetic is covered: notice period, late-joiner delay, earliest notice."""

    def test_a_notice_whose_period_ends_past_9999_is_rejected_naming_its_date(self) -> None:
        scenario = Scenario(rules={"withdrawal_notice": "P8000Y"}).given(ratified("USA", "1993-12-03"), in_force("2002-01-01"))
        scenario.rejects(notified("USA", "2020-05-22"), InvalidDate, "date", "P8000Y after 2020-05-22 falls past 9999-12-31")

    def test_a_late_joiner_whose_delay_ends_past_9999_is_rejected_naming_its_date(self) -> None:
        scenario = Scenario(rules={"late_joiner_delay": "P8000Y"}).given(ratified("USA", "1993-12-03"), in_force("2002-01-01"))
        scenario.rejects(acceded("FIN", "2003-02-03"), InvalidDate, "date", "P8000Y after 2003-02-03 falls past 9999-12-31")

    def test_a_notice_under_an_earliest_notice_rule_past_9999_is_rejected_naming_its_date(self) -> None:
        scenario = Scenario(rules={"earliest_withdrawal_notice": "P8000Y"}).given(ratified("USA", "1993-12-03"), in_force("2002-01-01"))
        scenario.rejects(notified("USA", "2020-05-22"), InvalidDate, "date", "P8000Y after 2002-01-01 falls past 9999-12-31")


def a_treaty() -> Treaty:
    return Treaty.register(slug="t", title="T", depositaries=[], rules=TreatyRules(), source=SOURCE,
                           registered_at=datetime(2020, 1, 1, tzinfo=UTC))


class TestActsDatedAfterTheDayTheyAreRecorded:
    def test_a_signature_dated_2999_is_an_invalid_date_naming_the_date(self) -> None:
        scenario = Scenario.open_skies_rules()
        error = scenario.rejects(signed("GBR", "2999-01-01"), InvalidDate, "date", "2999-01-01 is after ")
        assert "the day (UTC) it is recorded on" in error.reason

    def test_an_act_dated_the_day_after_its_recorded_day_is_rejected_and_one_dated_that_day_is_recorded(self) -> None:
        treaty = a_treaty()
        late_evening = datetime(2020, 5, 22, 23, 59, 59, tzinfo=UTC)
        with pytest.raises(InvalidDate) as caught:
            treaty.record(normalise_event(signed("USA", "2020-05-23")), event_id="00000000-0000-0000-0000-000000000001", recorded_at=late_evening)
        assert (caught.value.field, caught.value.reason) == (
            "date", "2020-05-23 is after 2020-05-22, the day (UTC) it is recorded on: an act is recorded once it has happened")
        assert treaty.records == []
        recorded = treaty.record(normalise_event(signed("USA", "2020-05-22")), event_id="00000000-0000-0000-0000-000000000002", recorded_at=late_evening)
        assert recorded.date == date(2020, 5, 22)

    def test_the_recorded_day_is_the_utc_day_whatever_the_zone_of_the_clock(self) -> None:
        treaty = a_treaty()
        one_in_the_morning_at_utc_plus_2 = datetime(2020, 5, 23, 1, 0, tzinfo=timezone(timedelta(hours=2)))  # 23:00 UTC on the 22nd
        with pytest.raises(InvalidDate, match="2020-05-23 is after 2020-05-22"):
            treaty.record(normalise_event(signed("USA", "2020-05-23")), event_id="00000000-0000-0000-0000-000000000001",
                          recorded_at=one_in_the_morning_at_utc_plus_2)

    def test_a_withdrawal_notice_may_name_an_effect_after_the_day_it_is_recorded(self) -> None:
        scenario = Scenario.open_skies_rules().given(ratified("USA", "1993-12-03"), in_force("2002-01-01"))
        scenario.record(notified("USA", "2020-05-22", effective_on="2999-01-01"))
        assert scenario.status("USA", on="2998-12-31") == "withdrawing"
        assert scenario.status("USA", on="2999-01-01") == "withdrawn"

    def test_a_correction_moving_a_date_past_the_day_it_is_recorded_is_rejected_naming_changes_date(self) -> None:
        scenario = Scenario.open_skies_rules().given(ratified("USA", "1993-12-03"), event("signed", "1992-03-24", "GBR", key="gbr"))
        correction = event("correction", corrects=scenario.id("gbr"), changes={"date": "2999-01-01"})
        scenario.rejects(correction, InvalidDate, "changes.date", "2999-01-01 is after ")
        assert scenario.status("GBR", on="1993-01-01") == "signatory"
