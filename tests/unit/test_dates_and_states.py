from datetime import date

import pytest

from treaty_ledger.domain.dates import Duration, parse_date, parse_duration, parse_timestamp
from treaty_ledger.domain.errors import InvalidDate, UnknownState
from treaty_ledger.domain.states import normalise_state


class TestCalendarArithmetic:
    def test_six_months_after_22_may_2020_is_22_november_2020(self) -> None:
        assert parse_duration("P6M", field="f").after(date(2020, 5, 22)) == date(2020, 11, 22)

    def test_sixty_days_after_12_december_2002_is_10_february_2003(self) -> None:
        assert parse_duration("P60D", field="f").after(date(2002, 12, 12)) == date(2003, 2, 10)

    def test_a_month_end_missing_in_the_target_month_falls_back_to_its_last_day(self) -> None:
        assert Duration(months=6).after(date(2019, 8, 31)) == date(2020, 2, 29)
        assert Duration(months=6).after(date(2020, 8, 31)) == date(2021, 2, 28)

    def test_years_and_weeks(self) -> None:
        assert parse_duration("P3Y", field="f").after(date(2016, 11, 4)) == date(2019, 11, 4)
        assert parse_duration("P2W", field="f") == Duration(days=14)

    @pytest.mark.parametrize("text", ["6 months", "P", "PT6H", "P-1M", "", "P6M1Y"])
    def test_malformed_durations_name_the_field(self, text: str) -> None:
        with pytest.raises(InvalidDate, match="ISO 8601 duration") as caught:
            parse_duration(text, field="rules.withdrawal_notice")
        assert caught.value.field == "rules.withdrawal_notice"

    def test_durations_print_as_iso_8601(self) -> None:
        assert Duration(months=6).isoformat() == "P6M"
        assert Duration(days=60).isoformat() == "P60D"
        assert Duration().isoformat() == "P0D"


class TestDates:
    @pytest.mark.parametrize("text", ["2021-02-30", "2021-13-01", "2021-00-10"])
    def test_impossible_dates_are_rejected(self, text: str) -> None:
        with pytest.raises(InvalidDate, match="not a real calendar date"):
            parse_date(text, field="date")

    @pytest.mark.parametrize("text", ["21-02-2021", "2021/02/01", "yesterday", "20210201", 20210201])
    def test_malformed_dates_are_rejected(self, text: object) -> None:
        with pytest.raises(InvalidDate, match="YYYY-MM-DD"):
            parse_date(text, field="date")

    def test_timestamps_are_returned_in_utc(self) -> None:
        moment = parse_timestamp("2021-03-01T12:00:00+02:00", field="known_at")
        assert moment.isoformat() == "2021-03-01T10:00:00+00:00"
        assert parse_timestamp("2021-03-01T12:00:00Z", field="known_at").hour == 12
        assert parse_timestamp("2021-03-01", field="known_at").tzinfo is not None


class TestStates:
    @pytest.mark.parametrize(
        ("given", "canonical"),
        [("USA", "USA"), ("us", "USA"), ("United States", "USA"), ("Russia", "RUS"), ("RU", "RUS"),
         ("Germany", "DEU"), ("CSHH", "CSHH"), ("Czechoslovakia", "CSHH"), ("SUHH", "SUHH"), ("YUCS", "YUCS"),
         ("Soviet Union", "SUHH"), ("gbr", "GBR"), ("Hungary", "HUN")],
    )
    def test_codes_and_english_names_give_the_canonical_code(self, given: str, canonical: str) -> None:
        assert normalise_state(given) == canonical

    @pytest.mark.parametrize("given", ["XYZ", "Atlantis", "Kaliningrad", "", "QQQQ"])
    def test_an_unknown_state_is_a_clear_error(self, given: str) -> None:
        with pytest.raises(UnknownState, match="unknown state") as caught:
            normalise_state(given, field="observers[1]")
        assert caught.value.field == "observers[1]"
