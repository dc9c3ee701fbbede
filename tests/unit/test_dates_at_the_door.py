"""Calendar arithmetic at the edge of the calendar: a duration that runs past 9999-12-31 is bad input, never a crash."""

from __future__ import annotations

from datetime import date

import pytest

from tests.scenario import Scenario, acceded, in_force, notified, ratified
from treaty_ledger.domain.dates import Duration
from treaty_ledger.domain.errors import InvalidDate


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
