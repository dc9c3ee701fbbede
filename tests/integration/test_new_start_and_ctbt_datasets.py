"""The New START and CTBT datasets answer as history does, on SQLite and on PostgreSQL; every event cites a source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml

from tests.command_line import run_cli
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.store.datasets import import_file

DATA = Path(__file__).resolve().parents[2] / "data"
ANNEX_2_HOLDOUTS = ["CHN", "EGY", "IND", "IRN", "ISR", "PAK", "PRK", "USA"]


@pytest.fixture(scope="module")
def ledger(module_database_url: str) -> Iterator[Services]:
    """Both datasets imported once per store (the tests using it record nothing)."""
    services = open_services(module_database_url)
    for name, count in (("new-start.yaml", 43), ("ctbt.yaml", 111)):
        report = import_file(services.ledger, DATA / name)
        assert (report.registered, report.recorded) == (True, count)
        assert import_file(services.ledger, DATA / name).recorded == 0  # a second import records nothing
    services.read.refresh()
    yield services
    services.close()


def membership(services: Services, treaty: str, day: str) -> dict:
    return services.read.membership_as_of(treaty, date.fromisoformat(day))


def state(services: Services, treaty: str, code: str, day: str) -> dict:
    return services.read.state_as_of(treaty, code, date.fromisoformat(day))


class TestNewStart:
    def test_on_1_june_2010_both_are_signatories_applying_it_provisionally_and_it_is_not_in_force(self, ledger: Services) -> None:
        answer = membership(ledger, "new-start", "2010-06-01")
        assert (answer["in_force"], answer["parties"], answer["signatories"]) == (False, [], ["RUS", "USA"])
        assert answer["provisionally_applying"] == ["RUS", "USA"]

    def test_in_force_with_both_parties_from_the_exchange_of_instruments(self, ledger: Services) -> None:
        answer = membership(ledger, "new-start", "2011-02-05")
        assert answer["in_force"] and answer["parties"] == ["RUS", "USA"] and answer["provisionally_applying"] == []
        assert (answer["expires_on"], answer["extensions"]) == ("2021-02-05", [])
        assert not membership(ledger, "new-start", "2011-02-04")["in_force"]

    def test_extended_on_3_february_2021_to_5_february_2026(self, ledger: Services) -> None:
        before = membership(ledger, "new-start", "2021-02-02")
        assert before["expires_on"] == "2021-02-05"
        after = membership(ledger, "new-start", "2021-02-05")
        assert after["in_force"] and after["expires_on"] == "2026-02-05"
        assert [(e["on"], e["until"]) for e in after["extensions"]] == [("2021-02-03", "2026-02-05")]

    def test_russia_suspends_from_28_february_2023_with_basis_and_scope_and_stays_a_party(self, ledger: Services) -> None:
        assert membership(ledger, "new-start", "2023-02-27")["suspended"] == []
        answer = membership(ledger, "new-start", "2024-01-01")
        assert "RUS" in answer["parties"]
        russia = next(s for s in answer["suspended"] if s["state"] == "RUS")
        assert (russia["since"], russia["towards"], russia["scope"]) == ("2023-02-28", ["USA"], "complete")
        assert "Vienna Convention" in russia["basis"]
        one = state(ledger, "new-start", "RUS", "2024-01-01")
        assert one["status"] == "party" and one["suspension"]["scope"] == "complete" and "Vienna Convention" in one["suspension"]["basis"]

    def test_the_united_states_counter_suspends_in_part_as_a_countermeasure(self, ledger: Services) -> None:
        usa = state(ledger, "new-start", "USA", "2024-01-01")["suspension"]
        assert (usa["since"], usa["scope"], usa["towards"]) == ("2023-03-28", "partial", ["RUS"]) and "countermeasure" in usa["basis"]

    def test_not_in_force_from_5_february_2026_by_expiry_with_no_termination_recorded(self, ledger: Services) -> None:
        answer = membership(ledger, "new-start", "2026-02-05")
        assert (answer["in_force"], answer["phase"], answer["parties"], answer["expires_on"]) == (False, "expired", [], "2026-02-05")
        assert state(ledger, "new-start", "RUS", "2026-02-05")["status"] == "expired"
        assert membership(ledger, "new-start", "2026-02-04")["in_force"]
        assert not [e for e in ledger.ledger.list_events("new-start") if e.type == "terminated"]


class TestCtbt:
    @pytest.mark.parametrize("day", ["1996-09-24", "2000-01-01", "2012-02-06", "2020-01-01", "2024-06-01"])
    def test_never_in_force(self, ledger: Services, day: str) -> None:
        answer = membership(ledger, "ctbt", day)
        assert (answer["in_force"], answer["phase"], answer["parties"]) == (False, "not_in_force", [])

    def test_on_1_january_2020_eight_annex_2_states_are_missing(self, ledger: Services) -> None:
        conditions = membership(ledger, "ctbt", "2020-01-01")["conditions"]
        assert conditions["required_states"]["missing"] == ANNEX_2_HOLDOUTS and len(conditions["required_states"]["met"]) == 36
        assert conditions["met"] is False and conditions["instruments"] is None

    def test_after_russias_revocation_nine_are_missing(self, ledger: Services) -> None:
        missing = membership(ledger, "ctbt", "2023-11-02")["conditions"]["required_states"]["missing"]
        assert missing == sorted([*ANNEX_2_HOLDOUTS, "RUS"])

    def test_russia_contracting_until_its_revocation_took_effect_then_a_signatory(self, ledger: Services) -> None:
        assert state(ledger, "ctbt", "RUS", "2000-06-30")["status"] == "contracting"
        assert state(ledger, "ctbt", "RUS", "2023-11-01")["status"] == "contracting"
        after = state(ledger, "ctbt", "RUS", "2023-11-02")
        assert (after["status"], after["since"]) == ("signatory", "2023-11-02")

    @pytest.mark.parametrize("day", ["1996-09-24", "1999-10-13", "2010-01-01", "2023-11-02", "2025-01-01"])
    def test_the_united_states_is_a_signatory_on_every_date_after_24_september_1996(self, ledger: Services, day: str) -> None:
        assert state(ledger, "ctbt", "USA", day)["status"] == "signatory"
        assert state(ledger, "ctbt", "USA", "1996-09-23")["status"] == "none"


class TestRussiaAcrossTreaties:
    def test_the_command_line_shows_russia_in_both(self, ledger: Services, module_database_url: str) -> None:
        result = run_cli("state-across", "RUS", "--as-of", "2024-01-01", database=module_database_url)
        assert result.exit_code == 0, result.stderr
        answer = {t["treaty"]: t for t in ledger.read.state_across("RUS", date(2024, 1, 1))["treaties"]}
        assert (answer["new-start"]["status"], answer["new-start"]["suspended"]) == ("party", True)
        assert answer["ctbt"]["status"] == "signatory"


@pytest.mark.parametrize("name", ["new-start.yaml", "ctbt.yaml"])
def test_every_event_cites_a_source_with_a_title_or_a_url(name: str) -> None:
    dataset = yaml.safe_load((DATA / name).read_text())
    assert dataset["events"]
    for entry in dataset["events"]:
        assert entry["source"].get("title") or entry["source"].get("url"), entry["key"]
