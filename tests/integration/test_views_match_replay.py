"""Property: for random valid timelines, recorded in random order with random corrections and
retractions, the materialized views answer exactly as the replay does, for any as_of and known_at."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scenario import SOURCE
from tests.walks import START, body_for, day, rules, walks
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.domain.errors import LedgerError
from treaty_ledger.projections.replay import (
    compliance_by_replay,
    membership_by_replay,
    reservations_by_replay,
    state_by_replay,
)

_counter = itertools.count()


def check_views_match_replay(services: Services, chosen_rules: dict, steps: list, probes: list[int]) -> None:
    treaty = f"t{next(_counter)}"
    services.register_treaty({"id": treaty, "title": "Random treaty", "rules": chosen_rules, "source": SOURCE})
    for kind, who, offset in steps:
        body = body_for(kind, who, offset, services.ledger.list_events(treaty))
        if body is None:
            continue
        try:
            services.record_event(treaty, body)
        except LedgerError:
            pass  # an invalid step of the random walk: rejected, nothing stored
    aggregate = services.ledger.treaty(treaty)
    records = list(aggregate.records)
    moments = [None] + [r.recorded_at for r in records] + [r.recorded_at - timedelta(microseconds=1) for r in records[:5]]
    for probe, known_at in itertools.product(probes, moments):
        as_of = START + timedelta(days=probe)
        assert services.read.membership_as_of(treaty, as_of, known_at) == membership_by_replay(treaty, aggregate.rules, records, as_of, known_at)
        assert services.read.compliance_as_of(treaty, as_of, known_at) == compliance_by_replay(treaty, aggregate.rules, records, as_of, known_at)
        assert services.read.reservations_as_of(treaty, as_of, known_at) == reservations_by_replay(treaty, aggregate.rules, records, as_of, known_at)
        for code in ("USA", "GBR", "CZE", "CSHH"):
            assert services.read.state_as_of(treaty, code, as_of, known_at) == state_by_replay(treaty, aggregate.rules, records, code, as_of, known_at)


@pytest.fixture(scope="module")
def sqlite_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    services = open_services(f"sqlite:///{tmp_path_factory.mktemp('property') / 'ledger.db'}")
    yield services
    services.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(chosen_rules=rules, steps=walks(), probes=st.lists(day, min_size=3, max_size=6))
def test_views_answer_as_the_replay_on_sqlite(sqlite_services: Services, chosen_rules: dict, steps: list, probes: list[int]) -> None:
    check_views_match_replay(sqlite_services, chosen_rules, steps, probes)


@pytest.fixture
def postgres_services(postgres_url: str) -> Iterator[Services]:
    services = open_services(postgres_url)
    yield services
    services.close()


@pytest.mark.postgres
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(chosen_rules=rules, steps=walks(), probes=st.lists(day, min_size=3, max_size=6))
def test_views_answer_as_the_replay_on_postgres(postgres_services: Services, chosen_rules: dict, steps: list, probes: list[int]) -> None:
    check_views_match_replay(postgres_services, chosen_rules, steps, probes)


def test_the_random_walk_records_most_kinds_of_event(sqlite_services: Services) -> None:
    """Guard against a property test that passes because everything was rejected."""
    treaty = f"t{next(_counter)}"
    sqlite_services.register_treaty({"id": treaty, "title": "Walk", "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE})
    plan = [("signed", "USA", 10), ("ratified", "USA", 400), ("ratified", "RUS", 500), ("entered_into_force", None, 1000),
            ("restriction_imposed", "RUS", 2000), ("restriction_lifted", 0, 3000), ("withdrawal_notified", "USA", 5000),
            ("allegation_made", "RUS", 2500), ("correction", 1, 450)]
    for kind, who, offset in plan:
        body = body_for(kind, who, offset, sqlite_services.ledger.list_events(treaty))
        if kind == "restriction_lifted":
            body["restriction"] = sqlite_services.ledger.list_events(treaty)[4].id
            body["state"] = "RUS"
        sqlite_services.record_event(treaty, body)  # every step of this plan is valid
    assert len(sqlite_services.ledger.list_events(treaty)) == len(plan)


@pytest.mark.parametrize("steps", [
    # A late joiner (it deposited once the conditions were met, before entry into force) becomes a party from its own date.
    [("ratified", "USA", 0), ("ratified", "RUS", 10), ("ratified", "GBR", 20), ("entered_into_force", None, 30)],
    # The same, the entry into force recorded before the late joiner's deposit was.
    [("ratified", "USA", 0), ("ratified", "RUS", 10), ("entered_into_force", None, 30), ("ratified", "GBR", 20)],
])
def test_views_answer_as_the_replay_for_a_late_joiner_before_entry_into_force(sqlite_services: Services, steps: list) -> None:
    late_joiners = {"entry_into_force": {"instruments": 2, "required_states": ["USA"]}, "late_joiner_delay": "P60D",
                    "late_joiner_alignment": "first_of_next_month", "withdrawal_notice": "P1Y"}
    check_views_match_replay(sqlite_services, late_joiners, steps, [25, 40, 80, 100, 400])


def test_views_answer_as_the_replay_when_a_withdrawal_takes_effect_and_ends_a_reservation(sqlite_services: Services) -> None:
    steps = [("ratified", "USA", 0), ("ratified", "GBR", 0), ("entered_into_force", None, 10), ("reservation_made", "USA", 20),
             ("objection_made", -1, 30), ("withdrawal_announced", "USA", 40), ("withdrawal_notified", "USA", 41)]
    check_views_match_replay(sqlite_services, {"withdrawal_notice": "P6M"}, steps, [35, 100, 300])


@pytest.mark.parametrize("steps", [
    # What a state says after its notice of withdrawal ends when the withdrawal takes effect, and an objection to its reservation with it.
    [("ratified", "USA", 0), ("ratified", "GBR", 0), ("entered_into_force", None, 10), ("reservation_made", "USA", 20),
     ("withdrawal_announced", "USA", 40), ("withdrawal_notified", "USA", 41), ("objection_made", -1, 50), ("declaration_made", "USA", 60),
     ("territorial_application", "USA", 60)],
    # Two withdrawals pending: the objector's takes effect first and ends its objection before the reserving state's does.
    [("ratified", "USA", 0), ("ratified", "GBR", 0), ("entered_into_force", None, 10), ("reservation_made", "USA", 20),
     ("objection_made", -1, 30), ("withdrawal_announced", "GBR", 40), ("withdrawal_notified", "GBR", 41),
     ("withdrawal_announced", "USA", 50), ("withdrawal_notified", "USA", 51)],
])
def test_views_answer_as_the_replay_when_withdrawals_pending_end_what_states_said(sqlite_services: Services, steps: list) -> None:
    check_views_match_replay(sqlite_services, {"withdrawal_notice": "P6M"}, steps, [55, 100, 215, 225, 235, 300])


def test_the_random_walk_records_the_vocabulary_beyond_open_skies(sqlite_services: Services) -> None:
    """Guard: the walks' bodies of the newer event types are valid where the history allows them."""
    treaty = f"t{next(_counter)}"
    term = {"withdrawal_notice": "P6M", "duration": "P10Y", "extension": {"max_period": "P5Y", "times": 2}}
    sqlite_services.register_treaty({"id": treaty, "title": "Walk", "rules": term, "source": SOURCE})
    plan = [("signed", "USA", 10), ("provisional_application_started", "USA", 20), ("signed", "GBR", 30), ("signed", "FIN", 35), ("signature_withdrawn", "FIN", 40),
            ("ratified", "USA", 400), ("ratified", "RUS", 500), ("entered_into_force", None, 1000), ("reservation_made", "RUS", 1100),
            ("objection_made", -1, 1200), ("objection_withdrawn", -1, 1300), ("reservation_withdrawn", -1, 1400),
            ("declaration_made", "USA", 1100), ("declaration_withdrawn", -1, 1500), ("territorial_application", "USA", 1600),
            ("implementation_suspended", "RUS", 1700), ("extended", 100, 2000)]
    for kind, who, offset in plan:
        body = body_for(kind, who, offset, sqlite_services.ledger.list_events(treaty))
        sqlite_services.record_event(treaty, body)  # every step of this plan is valid
    events = sqlite_services.ledger.list_events(treaty)
    assert [e.type for e in events] == [kind for kind, _, _ in plan]
    membership = sqlite_services.read.membership_as_of(treaty, START + timedelta(days=1000 + 2000))
    assert membership["expires_on"] == (START + timedelta(days=1000 + 3652 + 100)).isoformat() and membership["suspended"]
