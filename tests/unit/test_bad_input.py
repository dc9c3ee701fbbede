"""Every case of domain.md's "Bad input": a clear error naming the field, and nothing recorded."""

import pytest

from tests.scenario import SOURCE, Scenario, event
from treaty_ledger.domain.errors import (
    InvalidDate,
    InvalidInput,
    MissingSource,
    TreatyAlreadyExists,
    TreatyNotFound,
    UnknownEventType,
    UnknownState,
)
from treaty_ledger.domain.ledger import Ledger


@pytest.fixture
def scenario() -> Scenario:
    return Scenario.open_skies_rules()


@pytest.mark.parametrize(
    ("body", "error", "field", "match"),
    [
        (event("signed", "1992-03-24", "ATL"), UnknownState, "state", "unknown state 'ATL'"),
        (event("signed", "1992-02-30", "USA"), InvalidDate, "date", "not a real calendar date"),
        (event("signed", "24/03/1992", "USA"), InvalidDate, "date", "YYYY-MM-DD"),
        (event("signed", None, "USA"), InvalidInput, "date", "needs its effective date"),
        (event("signed", "1992-03-24", "USA") | {"source": None}, MissingSource, "source", "must cite a source"),
        (event("signed", "1992-03-24", "USA") | {"source": {"publisher": "x"}}, MissingSource, "source", "title or a url"),
        (event("signed", "1992-03-24", "USA") | {"source": {"url": "ftp://x"}}, InvalidInput, "source.url", "http"),
        (event("ratify", "1992-03-24", "USA"), UnknownEventType, "type", "unknown event type 'ratify'"),
        (event("signed", "1992-03-24"), InvalidInput, "state", "needs state"),
        (event("signed", "1992-03-24", "USA", colour="red"), InvalidInput, "colour", "no field 'colour'"),
        (event("signed", "1992-03-24", "USA", recorded_at="2020-01-01T00:00:00Z"), InvalidInput, "recorded_at", "set by the ledger"),
        (event("flight_denied", "2019-09-01", "RUS", observers=["USA", "Mordor"], reason="x"), UnknownState, "observers[1]", "Mordor"),
        (event("withdrawal_notified", "2020-05-22", "USA", effective_on="2020-13-01"), InvalidDate, "effective_on", "not a real"),
        (event("correction", "2020-01-01", corrects="6f1c1f4e-0000-4000-8000-000000000000", changes={"date": "2002-12-12"}), InvalidInput, "date", "has no date"),
        (event("retraction", retracts="not-a-uuid", reason="x"), InvalidInput, "retracts", "expected an event id"),
    ],
)
def test_bad_input_is_rejected_with_the_field_and_the_reason(scenario: Scenario, body: dict, error: type, field: str, match: str) -> None:
    scenario.rejects(body, error, field, match)


def test_an_unknown_treaty_is_a_clear_error(scenario: Scenario) -> None:
    with pytest.raises(TreatyNotFound, match="no treaty with id 'new-start'"):
        scenario.ledger.record_event("new-start", event("signed", "2010-04-08", "USA"))


def test_registering_a_treaty_twice_is_a_conflict(scenario: Scenario) -> None:
    with pytest.raises(TreatyAlreadyExists):
        scenario.ledger.register_treaty({"id": scenario.treaty, "title": "Again", "source": SOURCE})


@pytest.mark.parametrize(
    ("body", "field", "match"),
    [
        ({"id": "Open Skies", "title": "t", "source": SOURCE}, "id", "lowercase slug"),
        ({"id": "x", "title": "", "source": SOURCE}, "title", "needs a title"),
        ({"id": "x", "title": "t"}, "source", "source"),
        ({"id": "x", "title": "t", "source": SOURCE, "rules": {"withdrawal_notice": "6 months"}}, "rules.withdrawal_notice", "ISO 8601"),
        ({"id": "x", "title": "t", "source": SOURCE, "rules": {"minimum_parties": 0}}, "rules.minimum_parties", "whole number"),
        ({"id": "x", "title": "t", "source": SOURCE, "depositaries": ["Narnia"]}, "depositaries[0]", "unknown state"),
    ],
)
def test_a_bad_treaty_is_rejected_and_not_registered(body: dict, field: str, match: str) -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with pytest.raises(InvalidInput, match=match) as caught:
        ledger.register_treaty(body)
    assert caught.value.field == field
    assert ledger.list_treaties() == []
