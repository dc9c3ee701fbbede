"""Legal effects of participation events, checked through the timeline fold."""

from tests.scenario import (
    Scenario,
    acceded,
    event,
    in_force,
    notified,
    ratified,
    signed,
)
from treaty_ledger.domain.errors import TimelineContradiction


def founders() -> Scenario:
    return Scenario.open_skies_rules().given(
        signed("USA", "1992-03-24"), signed("RUS", "1992-03-24"), signed("KGZ", "1992-12-15"),
        ratified("USA", "1993-12-03"), ratified("RUS", "2001-11-02"), in_force("2002-01-01"),
    )


class TestEntryIntoForce:
    def test_states_that_ratified_before_entry_into_force_are_contracting_then_parties(self) -> None:
        scenario = founders()
        assert scenario.status("USA", on="2001-12-31") == "contracting"
        assert scenario.status("USA", on="2002-01-01") == "party"
        assert scenario.parties(on="2001-12-31") == []
        assert scenario.parties(on="2002-01-01") == ["RUS", "USA"]

    def test_a_signatory_that_never_ratifies_stays_a_signatory(self) -> None:
        scenario = founders()
        assert scenario.status("KGZ", on="2021-01-01") == "signatory"
        assert scenario.status("KGZ", on="1992-12-14") == "none"

    def test_a_state_ratifying_on_the_day_of_entry_into_force_is_a_party_that_day(self) -> None:
        scenario = Scenario.open_skies_rules().given(in_force("2002-01-01"), ratified("BLR", "2002-01-01"))
        assert scenario.status("BLR", on="2002-01-01") == "party"

    def test_entry_into_force_cannot_happen_twice(self) -> None:
        founders().rejects(in_force("2003-01-01"), TimelineContradiction, "type", "already entered into force on 2002-01-01")


class TestLateJoiners:
    def test_a_state_acceding_after_entry_into_force_is_a_party_sixty_days_later(self) -> None:
        scenario = founders().given(acceded("FIN", "2002-12-12"))
        assert scenario.status("FIN", on="2002-12-12") == "contracting"
        assert scenario.status("FIN", on="2003-02-09") == "contracting"
        assert scenario.status("FIN", on="2003-02-10") == "party"

    def test_without_a_delay_rule_a_late_joiner_is_a_party_on_deposit(self) -> None:
        scenario = Scenario().given(in_force("2000-01-01"), acceded("FIN", "2002-12-12"))
        assert scenario.status("FIN", on="2002-12-12") == "party"


class TestWithdrawal:
    def test_withdrawal_takes_effect_six_months_after_notice(self) -> None:
        scenario = founders().given(notified("USA", "2020-05-22"))
        assert scenario.status("USA", on="2020-05-21") == "party"
        assert scenario.status("USA", on="2020-06-01") == "withdrawing"
        assert "USA" in scenario.parties(on="2020-11-21")
        assert scenario.status("USA", on="2020-11-22") == "withdrawn"
        assert scenario.parties(on="2020-11-22") == ["RUS"]

    def test_a_later_date_named_in_the_note_holds(self) -> None:
        scenario = founders().given(notified("USA", "2020-05-22", effective_on="2021-01-01"))
        assert scenario.status("USA", on="2020-12-31") == "withdrawing"
        assert scenario.status("USA", on="2021-01-01") == "withdrawn"

    def test_a_note_naming_a_date_inside_the_notice_period_is_rejected(self) -> None:
        founders().rejects(
            notified("USA", "2020-05-22", effective_on="2020-06-01"), TimelineContradiction, "effective_on", "before the notice period ends on 2020-11-22"
        )

    def test_an_announcement_has_no_legal_effect(self) -> None:
        scenario = founders().given(event("withdrawal_announced", "2020-05-21", "USA"))
        assert scenario.status("USA", on="2020-12-01") == "party"

    def test_a_rescinded_notice_leaves_the_state_a_party(self) -> None:
        scenario = founders().given(notified("USA", "2020-05-22"), event("withdrawal_rescinded", "2020-09-01", "USA"))
        assert scenario.status("USA", on="2020-08-31") == "withdrawing"
        assert scenario.status("USA", on="2020-09-01") == "party"
        assert scenario.status("USA", on="2021-06-01") == "party"

    def test_a_withdrawn_state_can_join_again_by_a_new_instrument(self) -> None:
        scenario = founders().given(notified("USA", "2020-05-22"), acceded("USA", "2023-01-01"))
        assert scenario.status("USA", on="2022-12-31") == "withdrawn"
        assert scenario.status("USA", on="2023-01-01") == "contracting"
        assert scenario.status("USA", on="2023-03-02") == "party"

    def test_the_earliest_withdrawal_notice_rule_holds(self) -> None:
        paris = Scenario(rules={"withdrawal_notice": "P1Y", "earliest_withdrawal_notice": "P3Y"}).given(
            ratified("USA", "2016-09-03"), in_force("2016-11-04")
        )
        paris.rejects(notified("USA", "2017-08-04"), TimelineContradiction, "date", "notice may be given from 2019-11-04")
        paris.given(notified("USA", "2019-11-04"))
        assert paris.status("USA", on="2020-11-04") == "withdrawn"


class TestSuccession:
    def test_successors_take_the_predecessors_standing_and_the_predecessor_no_longer_counts(self) -> None:
        scenario = Scenario.open_skies_rules().given(
            signed("CSHH", "1992-03-24"), ratified("CSHH", "1992-12-21"),
            event("succeeded", "1993-01-01", "CZE", predecessor="CSHH"),
            event("succeeded", "1993-01-01", "SVK", predecessor="CSHH"),
            in_force("2002-01-01"),
        )
        assert scenario.status("CSHH", on="1992-12-31") == "contracting"
        assert scenario.status("CSHH", on="1993-01-01") == "none"
        assert scenario.status("CZE", on="1993-01-01") == "contracting"
        assert scenario.status("SVK", on="1993-01-01") == "contracting"
        assert scenario.parties(on="2002-01-01") == ["CZE", "SVK"]

    def test_succeeding_a_state_with_no_standing_is_rejected(self) -> None:
        Scenario().rejects(
            event("succeeded", "1993-01-01", "CZE", predecessor="CSHH"), TimelineContradiction, "predecessor", "CSHH had no standing"
        )


class TestTermination:
    def test_a_bilateral_treaty_ends_when_either_partys_withdrawal_takes_effect(self) -> None:
        scenario = Scenario(rules={"withdrawal_notice": "P6M", "minimum_parties": 2}).given(
            ratified("USA", "1988-05-27"), ratified("RUS", "1988-05-27"), in_force("1988-06-01"),
            notified("USA", "2019-02-02"),
        )
        timeline = scenario.timeline()
        assert [(p.phase, str(p.since)) for p in timeline.phases] == [
            ("not_in_force", "None"), ("in_force", "1988-06-01"), ("terminated", "2019-08-02"),
        ]
        assert scenario.parties(on="2019-08-01") == ["RUS", "USA"]
        assert scenario.parties(on="2019-08-02") == []
        assert scenario.status("RUS", on="2019-08-02") == "terminated"

    def test_a_recorded_termination_ends_the_treaty_and_no_act_may_follow(self) -> None:
        scenario = founders().given(event("terminated", "2021-01-01"))
        assert scenario.parties(on="2021-01-01") == []
        scenario.rejects(acceded("FIN", "2022-01-01"), TimelineContradiction, "date", "terminated on 2021-01-01")


class TestContradictions:
    def test_ratifying_twice_is_rejected(self) -> None:
        founders().rejects(ratified("USA", "1995-01-01"), TimelineContradiction, "state", "USA already deposited an instrument on 1993-12-03")

    def test_withdrawing_from_a_treaty_never_joined_is_rejected(self) -> None:
        founders().rejects(notified("KGZ", "2020-01-01"), TimelineContradiction, "state", "KGZ never joined")

    def test_rescinding_a_withdrawal_never_notified_is_rejected(self) -> None:
        founders().rejects(event("withdrawal_rescinded", "2020-01-01", "USA"), TimelineContradiction, "state", "no withdrawal notice pending")

    def test_rescinding_a_withdrawal_that_already_took_effect_is_rejected(self) -> None:
        founders().given(notified("USA", "2020-05-22")).rejects(
            event("withdrawal_rescinded", "2020-11-22", "USA"), TimelineContradiction, "state", "already took effect on 2020-11-22"
        )

    def test_a_back_filled_event_that_breaks_a_recorded_one_is_rejected_and_names_it(self) -> None:
        scenario = founders().given(notified("USA", "2020-05-22"))
        error = scenario.rejects(notified("USA", "2010-01-01"), TimelineContradiction, "state", "would contradict the recorded withdrawal_notified")
        assert "2020-05-22" in str(error)


class TestRecordingOrder:
    def test_back_filled_history_gives_the_same_timeline_as_history_recorded_in_order(self) -> None:
        in_order = [signed("USA", "1992-03-24"), ratified("USA", "1993-12-03"), ratified("RUS", "2001-11-02"),
                    in_force("2002-01-01"), acceded("FIN", "2002-12-12"), notified("USA", "2020-05-22")]
        shuffled = [in_force("2002-01-01"), ratified("RUS", "2001-11-02"), acceded("FIN", "2002-12-12"),
                    signed("USA", "1992-03-24"), ratified("USA", "1993-12-03"), notified("USA", "2020-05-22")]
        first, second = Scenario.open_skies_rules().given(*in_order), Scenario.open_skies_rules().given(*shuffled)
        for day in ("1993-01-01", "2001-12-31", "2002-01-01", "2003-02-10", "2020-06-01", "2020-11-22"):
            for state in ("USA", "RUS", "FIN"):
                assert first.status(state, on=day) == second.status(state, on=day), (state, day)
            assert first.parties(on=day) == second.parties(on=day)
