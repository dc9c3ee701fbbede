"""Treaty law beyond Open Skies, through the fold: terms and extensions, entry-into-force conditions,
provisional application, unsigning, withdrawn instruments, reservations, declarations, objections,
territorial application, and the scope and basis of suspensions."""

from __future__ import annotations

from datetime import date

import pytest

from tests.scenario import SOURCE, Scenario, acceded, event, in_force, ratified, signed
from treaty_ledger.domain.errors import InvalidInput, TimelineContradiction
from treaty_ledger.domain.rules import TreatyRules, aligned
from treaty_ledger.projections.replay import membership_by_replay, reservations_by_replay, state_by_replay

NEW_START_RULES = {"duration": "P10Y", "extension": {"max_period": "P5Y", "times": 1}}
ROME_RULES = {"entry_into_force": {"instruments": 3, "delay": "P60D", "alignment": "first_of_next_month"},
              "late_joiner_delay": "P60D", "late_joiner_alignment": "first_of_next_month", "withdrawal_notice": "P1Y"}


def bilateral() -> Scenario:
    return Scenario(rules=NEW_START_RULES).given(
        signed("USA", "2010-04-08"), signed("RUS", "2010-04-08"),
        ratified("USA", "2011-02-05"), ratified("RUS", "2011-02-05"), in_force("2011-02-05"),
    )


def membership(scenario: Scenario, on: str) -> dict:
    treaty = scenario.ledger.treaty(scenario.treaty)
    return membership_by_replay(scenario.treaty, treaty.rules, scenario.ledger.list_events(scenario.treaty), date.fromisoformat(on))


def state(scenario: Scenario, code: str, on: str) -> dict:
    treaty = scenario.ledger.treaty(scenario.treaty)
    return state_by_replay(scenario.treaty, treaty.rules, scenario.ledger.list_events(scenario.treaty), code, date.fromisoformat(on))


def reservations(scenario: Scenario, on: str, known_at: object = None) -> dict:
    treaty = scenario.ledger.treaty(scenario.treaty)
    return reservations_by_replay(scenario.treaty, treaty.rules, scenario.ledger.list_events(scenario.treaty), date.fromisoformat(on),
                                  known_at)  # type: ignore[arg-type]


class TestRules:
    def test_the_new_rules_read_and_write_back_as_json(self) -> None:
        rules = TreatyRules.from_input({**NEW_START_RULES, "entry_into_force": {"instruments": 60, "required_states": ["us", "Russia"]},
                                        "late_joiner_alignment": "first_of_next_month"})
        assert rules.to_json()["extension"] == {"max_period": "P5Y", "times": 1}
        assert rules.to_json()["entry_into_force"] == {"instruments": 60, "required_states": ["RUS", "USA"], "delay": None, "alignment": "none"}
        assert TreatyRules.from_input(rules.to_json()) == rules

    @pytest.mark.parametrize(("rules", "field", "reason"), [
        ({"extension": {"max_period": "P5Y"}}, "rules.extension", "needs a duration rule"),
        ({"duration": "P10Y", "extension": {"times": 1}}, "rules.extension.max_period", "needs max_period"),
        ({"duration": "P10Y", "extension": {"max_period": "P5Y", "times": 0}}, "rules.extension.times", "1 or more"),
        ({"entry_into_force": {}}, "rules.entry_into_force", "instruments, required_states or both"),
        ({"entry_into_force": {"required_states": ["XXX"]}}, "rules.entry_into_force.required_states[0]", "XXX"),
        ({"entry_into_force": {"instruments": 2, "when": 1}}, "rules.entry_into_force.when", "unknown field"),
        ({"late_joiner_alignment": "last_of_month"}, "rules.late_joiner_alignment", "none, first_of_next_month"),
    ])
    def test_bad_rules_are_refused_naming_the_field(self, rules: dict, field: str, reason: str) -> None:
        with pytest.raises(InvalidInput, match=reason) as caught:
            TreatyRules.from_input(rules)
        assert caught.value.field == field

    def test_first_of_next_month_is_always_the_month_after(self) -> None:
        assert aligned(date(2002, 7, 14), "first_of_next_month") == date(2002, 8, 1)
        assert aligned(date(2002, 7, 1), "first_of_next_month") == date(2002, 8, 1)
        assert aligned(date(2024, 12, 31), "first_of_next_month") == date(2025, 1, 1)
        assert aligned(date(2024, 12, 31), "none") == date(2024, 12, 31)


class TestTermAndExtension:
    def test_a_treaty_with_a_duration_expires_and_its_parties_with_it(self) -> None:
        scenario = bilateral()
        assert membership(scenario, "2021-02-04")["expires_on"] == "2021-02-05"
        after = membership(scenario, "2021-02-05")
        assert (after["in_force"], after["phase"], after["parties"], after["expires_on"]) == (False, "expired", [], "2021-02-05")
        assert scenario.status("USA", on="2021-02-05") == "expired"

    def test_an_extension_moves_the_expiry_from_its_date_and_is_listed(self) -> None:
        scenario = bilateral()
        extension = scenario.record(event("extended", "2021-02-03", until="2026-02-05"))
        before = membership(scenario, "2021-02-02")
        assert (before["expires_on"], before["extensions"]) == ("2021-02-05", [])
        after = membership(scenario, "2021-02-05")
        assert after["in_force"] and after["parties"] == ["RUS", "USA"] and after["expires_on"] == "2026-02-05"
        assert after["extensions"] == [{"on": "2021-02-03", "until": "2026-02-05", "events": [extension.id]}]
        assert extension.id in after["events"]
        expired = membership(scenario, "2026-02-05")
        assert (expired["in_force"], expired["phase"], expired["expires_on"]) == (False, "expired", "2026-02-05")

    def test_an_extension_beyond_the_rule_is_refused(self) -> None:
        bilateral().rejects(event("extended", "2021-02-03", until="2026-02-06"), TimelineContradiction, "until", "beyond the longest extension")

    def test_an_extension_more_times_than_the_rule_allows_is_refused(self) -> None:
        scenario = bilateral().given(event("extended", "2021-02-03", until="2026-02-05"))
        scenario.rejects(event("extended", "2025-02-03", until="2027-02-05"), TimelineContradiction, "type", "1 time")

    def test_an_extension_of_a_treaty_without_a_duration_is_refused(self) -> None:
        scenario = Scenario().given(in_force("2000-01-01"))
        scenario.rejects(event("extended", "2001-01-01", until="2010-01-01"), TimelineContradiction, "type", "no duration")

    def test_an_extension_after_expiry_is_refused(self) -> None:
        bilateral().rejects(event("extended", "2021-02-05", until="2026-02-05"), TimelineContradiction, "date", "expired on 2021-02-05")

    def test_an_extension_before_entry_into_force_is_refused(self) -> None:
        scenario = Scenario(rules=NEW_START_RULES).given(signed("USA", "2010-04-08"))
        scenario.rejects(event("extended", "2010-05-01", until="2026-02-05"), TimelineContradiction, "date", "not in force")

    def test_a_back_filled_extension_revives_the_parties_after_the_first_expiry(self) -> None:
        scenario = bilateral().given(event("statement", "2022-01-01", state="USA", summary="later"))
        assert scenario.parties(on="2022-01-01") == []
        scenario.record(event("extended", "2021-02-03", until="2026-02-05"))
        assert scenario.parties(on="2022-01-01") == ["RUS", "USA"]


class TestEntryIntoForceConditions:
    def test_conditions_count_instruments_and_name_missing_states(self) -> None:
        scenario = Scenario(rules={"entry_into_force": {"instruments": 3, "required_states": ["USA", "CHN", "IND"], "delay": "P180D"}})
        scenario.given(signed("USA", "1996-09-24"), signed("CHN", "1996-09-24"), ratified("FRA", "1998-04-06"), ratified("IND", "1999-01-01"))
        conditions = membership(scenario, "2000-01-01")["conditions"]
        assert conditions == {"instruments": {"required": 3, "deposited": 2},
                              "required_states": {"required": 3, "met": ["IND"], "missing": ["CHN", "USA"]}, "met": False}

    def test_a_state_depositing_after_the_conditions_were_met_is_a_late_joiner_even_before_entry_into_force(self) -> None:
        scenario = Scenario(rules=ROME_RULES).given(
            ratified("FRA", "2002-04-01"), ratified("DEU", "2002-04-11"), ratified("ITA", "2002-04-11"),
            ratified("GRC", "2002-05-15"), in_force("2002-07-01"),
        )
        assert scenario.parties(on="2002-07-01") == ["DEU", "FRA", "ITA"]
        assert scenario.status("GRC", on="2002-07-01") == "contracting"
        assert scenario.status("GRC", on="2002-08-01") == "party"
        assert membership(scenario, "2002-07-01")["contracting"] == [{"state": "GRC", "deposited_on": "2002-05-15", "party_from": "2002-08-01"}]

    def test_a_state_depositing_after_the_conditions_were_met_is_no_party_while_the_treaty_is_not_in_force(self) -> None:
        scenario = Scenario(rules={"entry_into_force": {"instruments": 2}}).given(
            ratified("FRA", "2000-01-01"), ratified("DEU", "2000-02-01"), ratified("ITA", "2000-03-01"),
        )
        assert scenario.parties(on="2000-04-01") == [] and scenario.status("ITA", on="2000-04-01") == "contracting"
        scenario.record(in_force("2000-05-01"))
        assert scenario.parties(on="2000-05-01") == ["DEU", "FRA", "ITA"]

    def test_a_late_joiner_after_entry_into_force_is_aligned_to_the_first_of_the_next_month(self) -> None:
        scenario = Scenario(rules=ROME_RULES).given(
            ratified("FRA", "2002-04-01"), ratified("DEU", "2002-04-11"), ratified("ITA", "2002-04-11"), in_force("2002-07-01"),
            acceded("UKR", "2024-10-25"),
        )
        assert scenario.status("UKR", on="2024-12-31") == "contracting"
        assert scenario.status("UKR", on="2025-01-01") == "party"


class TestProvisionalApplication:
    def test_a_signatory_applies_provisionally_until_the_treaty_enters_into_force_for_it(self) -> None:
        scenario = Scenario().given(signed("USA", "2010-04-08"), signed("RUS", "2010-04-08"))
        started = scenario.record(event("provisional_application_started", "2010-04-08", state="RUS", provisions="Part Eight"))
        scenario.given(ratified("RUS", "2011-02-05"), ratified("USA", "2011-02-05"), in_force("2011-02-05"))
        assert membership(scenario, "2010-06-01")["provisionally_applying"] == ["RUS"]
        assert started.id in membership(scenario, "2010-06-01")["events"]
        assert state(scenario, "RUS", "2010-06-01")["provisional"]["provisions"] == "Part Eight"
        assert membership(scenario, "2011-02-05")["provisionally_applying"] == []

    def test_provisional_application_is_for_states_not_yet_bound(self) -> None:
        scenario = Scenario().given(in_force("2000-01-01"), acceded("FIN", "2001-01-01"))
        scenario.rejects(event("provisional_application_started", "2002-01-01", state="FIN"), TimelineContradiction, "state", "party")

    def test_ending_a_provisional_application_that_never_started_is_refused(self) -> None:
        Scenario().given(signed("USA", "2000-01-01")).rejects(
            event("provisional_application_ended", "2001-01-01", state="USA"), TimelineContradiction, "state", "does not apply")


class TestSignatureWithdrawn:
    def test_an_unsigning_state_is_no_longer_a_signatory_and_keeps_its_history(self) -> None:
        scenario = Scenario(rules=ROME_RULES).given(signed("USA", "2000-12-31"))
        unsigning = scenario.record(event("signature_withdrawn", "2002-05-06", state="USA"))
        assert scenario.status("USA", on="2002-05-05") == "signatory"
        answer = state(scenario, "USA", "2002-05-06")
        assert answer["status"] == "none" and unsigning.id in answer["events"] and len(answer["events"]) == 2
        assert membership(scenario, "2002-05-06")["signatories"] == []

    def test_a_state_that_never_signed_cannot_unsign(self) -> None:
        Scenario().rejects(event("signature_withdrawn", "2002-05-06", state="USA"), TimelineContradiction, "state", "not a signatory")

    def test_a_bound_state_cannot_unsign(self) -> None:
        Scenario().given(signed("USA", "2000-01-01"), ratified("USA", "2001-01-01")).rejects(
            event("signature_withdrawn", "2002-05-06", state="USA"), TimelineContradiction, "state", "is bound")


class TestInstrumentWithdrawn:
    def test_a_revoked_ratification_of_a_treaty_not_in_force_makes_the_state_a_signatory_again(self) -> None:
        scenario = Scenario(rules={"entry_into_force": {"required_states": ["RUS", "USA"]}}).given(
            signed("RUS", "1996-09-24"), ratified("RUS", "2000-06-30"), event("instrument_withdrawn", "2023-11-02", state="RUS"))
        assert scenario.status("RUS", on="2023-11-01") == "contracting"
        assert scenario.status("RUS", on="2023-11-02") == "signatory"
        assert membership(scenario, "2023-11-02")["conditions"]["required_states"]["met"] == []

    def test_an_instrument_withdrawn_before_it_took_effect_leaves_a_state_that_never_signed_with_nothing(self) -> None:
        scenario = Scenario(rules=ROME_RULES).given(
            ratified("FRA", "2002-04-01"), ratified("DEU", "2002-04-11"), ratified("ITA", "2002-04-11"), in_force("2002-07-01"),
            acceded("MYS", "2019-03-04"), event("instrument_withdrawn", "2019-04-29", state="MYS"))
        assert scenario.status("MYS", on="2019-03-31") == "contracting"
        assert scenario.status("MYS", on="2019-04-29") == "none"
        assert scenario.status("MYS", on="2019-07-01") == "none"

    def test_an_instrument_that_took_effect_cannot_be_withdrawn(self) -> None:
        Scenario().given(in_force("2000-01-01"), acceded("FIN", "2001-01-01")).rejects(
            event("instrument_withdrawn", "2002-01-01", state="FIN"), TimelineContradiction, "state", "took effect on 2001-01-01")

    def test_a_state_without_an_instrument_cannot_withdraw_one(self) -> None:
        Scenario().given(signed("FIN", "2000-01-01")).rejects(
            event("instrument_withdrawn", "2002-01-01", state="FIN"), TimelineContradiction, "state", "no instrument")


def with_reservation() -> Scenario:
    scenario = Scenario().given(ratified("FRA", "1990-01-01"), ratified("DEU", "1990-01-01"), in_force("1990-06-01"))
    scenario.record(event("reservation_made", "1991-01-01", state="FRA", text="Article 8 does not apply", articles=["Article 8"], key="res"))
    return scenario


class TestReservationsAndObjections:
    def test_a_reservation_and_an_objection_are_in_force_between_their_dates(self) -> None:
        scenario = with_reservation()
        objection = scenario.record(event("objection_made", "1991-06-01", state="DEU", reservation=scenario.id("res"), text="incompatible"))
        answer = reservations(scenario, "1991-07-01")
        assert [r["id"] for r in answer["reservations"]] == [scenario.id("res")]
        assert answer["objections"][0]["reservation"] == scenario.id("res") and answer["objections"][0]["id"] == objection.id
        assert reservations(scenario, "1991-05-31")["objections"] == []
        assert state(scenario, "FRA", "1991-07-01")["objections_received"][0]["state"] == "DEU"
        assert state(scenario, "DEU", "1991-07-01")["objections_made"][0]["reserving_state"] == "FRA"

    def test_withdrawing_the_reservation_ends_its_objections(self) -> None:
        scenario = with_reservation()
        scenario.record(event("objection_made", "1991-06-01", state="DEU", reservation=scenario.id("res"), text="incompatible"))
        scenario.record(event("reservation_withdrawn", "1995-01-01", state="FRA", reservation=scenario.id("res")))
        answer = reservations(scenario, "1995-01-01")
        assert (answer["reservations"], answer["objections"]) == ([], [])
        assert len(reservations(scenario, "1994-12-31")["objections"]) == 1

    def test_an_objection_naming_an_event_that_is_not_a_reservation_is_refused(self) -> None:
        scenario = with_reservation()
        declaration = scenario.record(event("declaration_made", "1991-01-01", state="FRA", text="understanding"))
        scenario.rejects(event("objection_made", "1991-06-01", state="DEU", reservation=declaration.id, text="x"),
                         TimelineContradiction, "reservation", "not a reservation_made event")

    def test_a_state_cannot_object_to_its_own_reservation(self) -> None:
        scenario = with_reservation()
        scenario.rejects(event("objection_made", "1991-06-01", state="FRA", reservation=scenario.id("res"), text="x"),
                         TimelineContradiction, "state", "its own reservation")

    def test_only_the_reserving_state_withdraws_its_reservation_and_only_once(self) -> None:
        scenario = with_reservation()
        scenario.rejects(event("reservation_withdrawn", "1995-01-01", state="DEU", reservation=scenario.id("res")),
                         TimelineContradiction, "state", "made by FRA")
        scenario.record(event("reservation_withdrawn", "1995-01-01", state="FRA", reservation=scenario.id("res")))
        scenario.rejects(event("reservation_withdrawn", "1996-01-01", state="FRA", reservation=scenario.id("res")),
                         TimelineContradiction, "reservation", "no longer in force: it ended on 1995-01-01")

    def test_an_objection_to_a_withdrawn_reservation_is_refused(self) -> None:
        scenario = with_reservation()
        scenario.record(event("reservation_withdrawn", "1995-01-01", state="FRA", reservation=scenario.id("res")))
        scenario.rejects(event("objection_made", "1996-01-01", state="DEU", reservation=scenario.id("res"), text="x"),
                         TimelineContradiction, "reservation", "no longer in force: it ended on 1995-01-01")

    def test_a_state_without_standing_cannot_make_a_reservation(self) -> None:
        with_reservation().rejects(event("reservation_made", "1991-01-01", state="GBR", text="x"), TimelineContradiction, "state",
                                   "made by a signatory or a bound state")

    def test_a_state_without_standing_cannot_object(self) -> None:
        scenario = with_reservation()
        scenario.rejects(event("objection_made", "1991-06-01", state="GBR", reservation=scenario.id("res"), text="x"),
                         TimelineContradiction, "state", "an objection is made by a signatory or a bound state")

    def test_what_a_state_said_ends_when_it_leaves_the_treaty(self) -> None:
        scenario = with_reservation().given(signed("ITA", "1990-01-01"))
        scenario.record(event("objection_made", "1991-06-01", state="DEU", reservation=scenario.id("res"), text="incompatible"))
        scenario.record(event("declaration_made", "1991-06-01", state="ITA", text="understanding"))
        scenario.record(event("territorial_application", "1991-06-01", state="FRA", territory="Guiana", applies=True))
        scenario.given(event("withdrawal_notified", "1999-01-01", state="FRA"), event("signature_withdrawn", "1999-03-01", state="ITA"))
        before = reservations(scenario, "1998-12-31")
        assert (len(before["reservations"]), len(before["declarations"]), len(before["objections"])) == (1, 1, 1)
        assert reservations(scenario, "1999-03-01")["declarations"] == []  # ITA's signature withdrawn
        after = reservations(scenario, "1999-06-01")  # FRA's withdrawal took effect on notice (no notice rule)
        assert (after["reservations"], after["objections"]) == ([], [])
        assert state(scenario, "FRA", "1999-06-01")["territories"] == []
        assert state(scenario, "FRA", "1998-12-31")["territories"][0]["territory"] == "Guiana"

    def test_a_succession_does_not_end_the_predecessors_reservation_or_the_objections_to_it(self) -> None:
        scenario = Scenario().given(ratified("CSHH", "1990-01-01"), ratified("USA", "1990-01-01"), in_force("1990-06-01"))
        reservation = scenario.record(event("reservation_made", "1991-01-01", state="CSHH", text="Article 9 does not apply"))
        scenario.record(event("objection_made", "1991-06-01", state="USA", reservation=reservation.id, text="incompatible"))
        scenario.record(event("succeeded", "1993-01-01", state="CZE", predecessor="CSHH"))
        after = reservations(scenario, "1993-01-01")
        assert [r["id"] for r in after["reservations"]] == [reservation.id] and len(after["objections"]) == 1

    def test_an_objection_corrected_to_name_a_reservation_later_in_the_same_day_is_refused(self) -> None:
        scenario = with_reservation()
        objection = scenario.record(event("objection_made", "1991-06-01", state="DEU", reservation=scenario.id("res"), text="x"))
        later = scenario.record(event("reservation_made", "1991-06-01", state="FRA", text="Article 9 does not apply"))
        scenario.rejects({"type": "correction", "corrects": objection.id, "changes": {"reservation": later.id}, "source": SOURCE},
                         TimelineContradiction, "reservation", "the same day as this event, but comes after it")

    def test_an_objection_withdrawn_is_gone_from_its_date(self) -> None:
        scenario = with_reservation()
        objection = scenario.record(event("objection_made", "1991-06-01", state="DEU", reservation=scenario.id("res"), text="x"))
        scenario.record(event("objection_withdrawn", "1993-01-01", state="DEU", objection=objection.id))
        assert reservations(scenario, "1993-01-01")["objections"] == []

    def test_declarations_carry_their_kind(self) -> None:
        scenario = with_reservation()
        scenario.record(event("declaration_made", "1991-01-01", state="DEU", text="accepts the Court", kind="optional clause"))
        assert state(scenario, "DEU", "1992-01-01")["declarations"][0]["kind"] == "optional clause"

    def test_an_objection_needs_its_text_and_a_boolean_preclusion(self) -> None:
        scenario = with_reservation()
        scenario.rejects(event("objection_made", "1991-06-01", state="DEU", reservation=scenario.id("res")), InvalidInput, "text", "needs text")
        scenario.rejects(event("objection_made", "1991-06-01", state="DEU", reservation=scenario.id("res"), text="x",
                               precludes_entry_into_force="yes"), InvalidInput, "precludes_entry_into_force", "true or false")


class TestTerritorialApplication:
    def test_a_later_declaration_about_the_same_territory_replaces_the_earlier(self) -> None:
        scenario = Scenario().given(ratified("DNK", "1990-01-01"), in_force("1990-06-01"),
                                    event("territorial_application", "1990-06-01", state="DNK", territory="Greenland", applies=False),
                                    event("territorial_application", "2000-01-01", state="DNK", territory="greenland", applies=True))
        assert [(t["territory"], t["applies"]) for t in state(scenario, "DNK", "1995-01-01")["territories"]] == [("Greenland", False)]
        assert [(t["territory"], t["applies"]) for t in state(scenario, "DNK", "2000-01-01")["territories"]] == [("greenland", True)]


class TestSuspensionScopeAndBasis:
    def test_a_suspension_carries_its_scope_detail_and_basis(self) -> None:
        scenario = bilateral().given(event("extended", "2021-02-03", until="2026-02-05"), event(
            "implementation_suspended", "2023-02-28", state="RUS", towards=["USA"], scope="complete", detail="all of it",
            basis="material breach (claimed)"))
        suspended = membership(scenario, "2024-01-01")["suspended"][0]
        assert (suspended["scope"], suspended["detail"], suspended["basis"], suspended["towards"]) == (
            "complete", "all of it", "material breach (claimed)", ["USA"])
        answer = state(scenario, "RUS", "2024-01-01")
        assert answer["status"] == "party" and answer["suspension"]["basis"] == "material breach (claimed)"

    def test_a_scope_outside_the_choices_is_refused(self) -> None:
        bilateral().rejects(event("implementation_suspended", "2023-02-28", state="RUS", scope="most"), InvalidInput, "scope", "complete, partial")


class TestRulesSchemaAgreesWithTheDoor:
    """The Rules schema in the OpenAPI document accepts exactly what the ledger accepts, for the entry-into-force rule."""

    @pytest.mark.parametrize("rule", [
        {"instruments": 60}, {"required_states": ["USA"]}, {"instruments": 2, "required_states": ["USA"], "delay": "P180D", "alignment": None},
        {}, {"delay": "P60D"}, {"instruments": None, "required_states": None}, {"required_states": []}, {"instruments": 2, "alignment": ""},
    ])
    def test_the_schema_and_the_rules_agree(self, rule: dict) -> None:
        import jsonschema_rs

        from treaty_ledger.domain.schema import request_schemas

        valid_by_schema = jsonschema_rs.validator_for(request_schemas()["Rules"]).is_valid({"entry_into_force": rule})
        try:
            TreatyRules.from_input({"entry_into_force": rule})
            valid_by_rules = True
        except InvalidInput:
            valid_by_rules = False
        assert valid_by_schema == valid_by_rules, rule
