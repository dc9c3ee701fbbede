"""Compliance events, corrections and retractions, and the two times."""

from datetime import date

from tests.scenario import Scenario, event, in_force, notified, ratified
from treaty_ledger.domain.errors import InvalidInput, TimelineContradiction


def parties() -> Scenario:
    return Scenario.open_skies_rules().given(ratified("USA", "1993-12-03"), ratified("RUS", "2001-11-02"), in_force("2002-01-01"))


def kaliningrad(**fields: object) -> dict[str, object]:
    return event("restriction_imposed", "2015-06-05", "RUS", key="kaliningrad", area="Kaliningrad", kind="distance",
                 detail="500 km maximum flight distance over Kaliningrad", **fields)


class TestRestrictions:
    def test_a_restriction_is_in_force_from_its_date_until_lifted(self) -> None:
        scenario = parties().given(kaliningrad(towards=["USA"]))
        scenario.given(event("restriction_lifted", "2019-01-01", "RUS", restriction=scenario.id("kaliningrad")))
        restriction = scenario.timeline().restrictions[scenario.id("kaliningrad")]
        assert (restriction.since, restriction.until, restriction.towards) == (date(2015, 6, 5), date(2019, 1, 1), ["USA"])

    def test_lifting_a_restriction_never_imposed_is_rejected(self) -> None:
        parties().rejects(
            event("restriction_lifted", "2019-01-01", "RUS", restriction="6f1c1f4e-0000-4000-8000-000000000000"),
            TimelineContradiction, "restriction", "no restriction_imposed event",
        )

    def test_lifting_before_imposing_is_rejected(self) -> None:
        scenario = parties().given(kaliningrad())
        scenario.rejects(
            event("restriction_lifted", "2010-01-01", "RUS", restriction=scenario.id("kaliningrad")),
            TimelineContradiction, "restriction", "dated 2015-06-05, after this event's date 2010-01-01",
        )

    def test_an_unknown_restriction_kind_is_rejected(self) -> None:
        parties().rejects(kaliningrad() | {"kind": "speed"}, InvalidInput, "kind", "expected one of altitude, distance")


class TestAllegations:
    def test_an_allegation_is_open_then_disputed_then_resolved(self) -> None:
        scenario = parties().given(kaliningrad())
        scenario.given(event("allegation_made", "2017-06-01", key="a", accuser="USA", accused="RUS",
                             subject="Kaliningrad limits", restrictions=[scenario.id("kaliningrad")]))
        scenario.given(event("allegation_rejected", "2017-09-28", "RUS", allegation=scenario.id("a"), reasons="within the treaty"))
        scenario.given(event("allegation_resolved", "2019-01-01", allegation=scenario.id("a"), resolution="settled"))
        allegation = scenario.timeline().allegations[scenario.id("a")]
        assert [allegation.standing_on(date.fromisoformat(d)) for d in ("2017-06-01", "2017-09-28", "2019-01-01")] == [
            "open", "disputed", "resolved"]

    def test_only_the_accused_can_reject(self) -> None:
        scenario = parties().given(event("allegation_made", "2017-06-01", key="a", accuser="USA", accused="RUS", subject="x"))
        scenario.rejects(event("allegation_rejected", "2017-09-28", "USA", allegation=scenario.id("a"), reasons="no"),
                         TimelineContradiction, "state", "only the accused state")


class TestDeniedFlights:
    def test_a_refused_timeframe_must_have_been_offered(self) -> None:
        scenario = parties().given(event("flight_denied", "2019-09-01", "RUS", key="f", observers=["USA", "CAN"], reason="exercise"))
        scenario.rejects(event("alternative_timeframe_refused", "2019-09-10", flight=scenario.id("f"), observers=["USA"]),
                         TimelineContradiction, "flight", "no alternative timeframe was offered")
        scenario.given(event("alternative_timeframe_offered", "2019-09-05", "RUS", flight=scenario.id("f"), timeframe="later"))
        scenario.given(event("alternative_timeframe_refused", "2019-09-10", flight=scenario.id("f"), observers=["CAN", "USA"]))
        flight = scenario.timeline().flights[scenario.id("f")]
        assert (len(flight.offers), flight.refusals[0]["observers"]) == (1, ["CAN", "USA"])


class TestCorrections:
    def test_a_correction_applies_from_its_recorded_time_on(self) -> None:
        scenario = parties()
        wrong = scenario.record(event("acceded", "2002-12-13", "FIN"))
        fix = scenario.record(event("correction", corrects=wrong.id, changes={"date": "2002-12-12"}))
        assert scenario.status("FIN", on="2003-02-10") == "party"
        assert scenario.status("FIN", on="2003-02-10", known_at=fix.recorded_at) == "party"
        assert scenario.status("FIN", on="2003-02-10", known_at=wrong.recorded_at) == "contracting"

    def test_a_correction_naming_an_event_that_does_not_exist_is_rejected(self) -> None:
        parties().rejects(event("correction", corrects="6f1c1f4e-0000-4000-8000-000000000000", changes={"date": "2002-12-12"}),
                          TimelineContradiction, "corrects", "no event with id")

    def test_a_correction_is_checked_like_new_input(self) -> None:
        scenario = parties()
        record = scenario.record(event("acceded", "2002-12-13", "FIN"))
        scenario.rejects(event("correction", corrects=record.id, changes={"state": "Narnia"}), InvalidInput, "changes.state", "unknown state")
        scenario.rejects(event("correction", corrects=record.id, changes={"colour": "red"}), InvalidInput, "changes.colour", "no field")

    def test_a_correction_that_breaks_the_timeline_is_rejected(self) -> None:
        scenario = parties().given(notified("USA", "2020-05-22"))
        usa = scenario.ledger.list_events(scenario.treaty)[0]
        scenario.rejects(event("correction", corrects=usa.id, changes={"date": "2021-01-01"}), TimelineContradiction, "state", "never joined")


class TestRetractions:
    def test_a_retracted_event_is_ignored_from_the_retractions_recorded_time_on(self) -> None:
        scenario = parties()
        false_report = scenario.record(notified("RUS", "2018-01-01"))
        retraction = scenario.record(event("retraction", retracts=false_report.id, reason="false report"))
        assert scenario.status("RUS", on="2019-01-01") == "party"
        assert scenario.status("RUS", on="2019-01-01", known_at=false_report.recorded_at) == "withdrawn"
        assert scenario.status("RUS", on="2019-01-01", known_at=retraction.recorded_at) == "party"

    def test_retracting_twice_is_rejected(self) -> None:
        scenario = parties()
        record = scenario.record(notified("RUS", "2018-01-01"))
        scenario.record(event("retraction", retracts=record.id, reason="false"))
        scenario.rejects(event("retraction", retracts=record.id, reason="again"), TimelineContradiction, "retracts", "already retracted")

    def test_retracting_an_event_others_rest_on_is_rejected(self) -> None:
        scenario = parties().given(notified("USA", "2020-05-22"))
        ratification = scenario.ledger.list_events(scenario.treaty)[0]
        scenario.rejects(event("retraction", retracts=ratification.id, reason="x"), TimelineContradiction, "state", "never joined")
