"""The New START and CTBT datasets answer as history does, on SQLite and on PostgreSQL; every event cites a source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.command_line import run_cli
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.store.datasets import ImportReport, import_file, key_id

DATA = Path(__file__).resolve().parents[2] / "data"
NEW_START = DATA / "new-start.yaml"
CTBT = DATA / "ctbt.yaml"
FILES = {"new-start": NEW_START, "ctbt": CTBT}
SIZES = {"new-start": 43, "ctbt": 117}
"""How many events each file holds: a lost or added entry is noticed here first."""
ANNEX_2_HOLDOUTS = ["CHN", "EGY", "IND", "IRN", "ISR", "PAK", "PRK", "USA"]
"""The Annex 2 States that had not ratified the CTBT by 2020 (the State Department's eight of 2013)."""


def entries(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text())["events"])


@dataclass(frozen=True)
class Imported:
    services: Services
    first: dict[str, ImportReport]
    again: dict[str, ImportReport]


@pytest.fixture(scope="module")
def imported(module_database_url: str) -> Iterator[Imported]:
    """Both datasets imported once per store, then once more (the tests using it record nothing)."""
    services = open_services(module_database_url)
    first = {treaty: import_file(services.ledger, path) for treaty, path in FILES.items()}
    again = {treaty: import_file(services.ledger, path) for treaty, path in FILES.items()}
    services.read.refresh()
    yield Imported(services, first, again)
    services.close()


@pytest.fixture(scope="module")
def ledger(imported: Imported) -> Services:
    return imported.services


def membership(services: Services, treaty: str, day: str) -> dict[str, Any]:
    return services.read.membership_as_of(treaty, date.fromisoformat(day))


def state(services: Services, treaty: str, code: str, day: str) -> dict[str, Any]:
    return services.read.state_as_of(treaty, code, date.fromisoformat(day))


@pytest.mark.parametrize("treaty", sorted(FILES))
class TestImport:
    def test_the_first_import_registers_the_treaty_and_records_every_event(self, imported: Imported, treaty: str) -> None:
        count = len(entries(FILES[treaty]))
        assert count == SIZES[treaty]
        report = imported.first[treaty]
        assert (report.treaty, report.registered, report.recorded, report.already_there) == (treaty, True, count, 0)

    def test_a_second_import_records_nothing(self, imported: Imported, treaty: str) -> None:
        count = SIZES[treaty]
        report = imported.again[treaty]
        assert (report.treaty, report.registered, report.recorded, report.already_there) == (treaty, False, 0, count)
        assert len(imported.services.ledger.list_events(treaty)) == count


class TestNewStart:
    def test_on_1_june_2010_both_are_signatories_applying_it_provisionally_and_it_is_not_in_force(self, ledger: Services) -> None:
        answer = membership(ledger, "new-start", "2010-06-01")
        assert (answer["in_force"], answer["phase"], answer["parties"], answer["signatories"]) == (False, "not_in_force", [], ["RUS", "USA"])
        assert answer["provisionally_applying"] == ["RUS", "USA"]
        assert [state(ledger, "new-start", code, "2010-06-01")["status"] for code in ("USA", "RUS")] == ["signatory", "signatory"]

    def test_in_force_with_both_parties_from_the_exchange_of_instruments(self, ledger: Services) -> None:
        assert not membership(ledger, "new-start", "2011-02-04")["in_force"]
        answer = membership(ledger, "new-start", "2011-02-05")
        assert (answer["in_force"], answer["phase"], answer["parties"], answer["signatories"]) == (True, "in_force", ["RUS", "USA"], [])
        assert answer["provisionally_applying"] == []  # provisional application ends when both are bound
        assert (answer["expires_on"], answer["extensions"]) == ("2021-02-05", [])

    def test_before_the_extension_took_effect_the_term_ends_on_5_february_2021(self, ledger: Services) -> None:
        answer = membership(ledger, "new-start", "2021-02-02")  # as known now, before 2021-02-03
        assert (answer["in_force"], answer["expires_on"], answer["extensions"]) == (True, "2021-02-05", [])

    def test_extended_on_3_february_2021_to_5_february_2026(self, ledger: Services) -> None:
        extension = {"on": "2021-02-03", "until": "2026-02-05", "events": [key_id("new-start", "new-start-extended")]}
        for day in ("2021-02-03", "2021-02-05", "2024-01-01"):
            answer = membership(ledger, "new-start", day)
            assert (answer["in_force"], answer["parties"], answer["expires_on"]) == (True, ["RUS", "USA"], "2026-02-05")
            assert answer["extensions"] == [extension]

    def test_russia_suspends_from_28_february_2023_with_basis_and_scope_and_stays_a_party(self, ledger: Services) -> None:
        assert membership(ledger, "new-start", "2023-02-27")["suspended"] == []
        assert not state(ledger, "new-start", "RUS", "2023-02-27")["suspended"]
        suspension = key_id("new-start", "rus-suspends")
        for day in ("2023-02-28", "2026-02-04"):
            answer = membership(ledger, "new-start", day)
            assert answer["in_force"] and answer["parties"] == ["RUS", "USA"]
            russia = next(s for s in answer["suspended"] if s["state"] == "RUS")
            assert (russia["since"], russia["towards"], russia["scope"], russia["events"]) == ("2023-02-28", ["USA"], "complete", [suspension])
            assert "Vienna Convention" in russia["basis"] and "inspections" in russia["detail"]
            one = state(ledger, "new-start", "RUS", day)
            assert (one["status"], one["party"], one["suspended"]) == ("party", True, True)
            assert {key: one["suspension"][key] for key in ("since", "towards", "scope", "basis", "detail")} == {
                key: russia[key] for key in ("since", "towards", "scope", "basis", "detail")}

    def test_the_united_states_counter_suspends_in_part_as_a_countermeasure(self, ledger: Services) -> None:
        assert state(ledger, "new-start", "USA", "2023-03-27")["suspension"] is None
        usa = state(ledger, "new-start", "USA", "2023-03-28")["suspension"]
        assert (usa["since"], usa["scope"], usa["towards"]) == ("2023-03-28", "partial", ["RUS"]) and "countermeasure" in usa["basis"]

    def test_not_in_force_from_5_february_2026_by_expiry(self, ledger: Services) -> None:
        assert membership(ledger, "new-start", "2026-02-04")["in_force"]
        for day in ("2026-02-05", "2026-12-31"):
            answer = membership(ledger, "new-start", day)
            assert (answer["in_force"], answer["phase"], answer["parties"], answer["expires_on"]) == (False, "expired", [], "2026-02-05")
            assert answer["suspended"] == []
            assert [state(ledger, "new-start", code, day)["status"] for code in ("RUS", "USA")] == ["expired", "expired"]

    def test_the_expiry_is_derived_no_termination_is_recorded(self, ledger: Services) -> None:
        assert not [entry for entry in entries(NEW_START) if entry["type"] == "terminated"]
        assert not [event for event in ledger.ledger.list_events("new-start") if event.type == "terminated"]


class TestCtbt:
    @pytest.mark.parametrize("day", ["1996-09-24", "1998-09-24", "2000-01-01", "2012-02-06", "2020-01-01", "2023-11-02", "2024-06-01"])
    def test_never_in_force(self, ledger: Services, day: str) -> None:
        answer = membership(ledger, "ctbt", day)
        assert (answer["in_force"], answer["phase"], answer["parties"], answer["expires_on"]) == (False, "not_in_force", [], None)
        assert answer["conditions"]["met"] is False

    def test_on_1_january_2020_eight_annex_2_states_are_missing(self, ledger: Services) -> None:
        conditions = membership(ledger, "ctbt", "2020-01-01")["conditions"]
        assert conditions["required_states"]["missing"] == ANNEX_2_HOLDOUTS and len(conditions["required_states"]["met"]) == 36
        assert conditions["met"] is False and conditions.get("instruments") is None  # the rule counts states, not instruments

    def test_after_russias_revocation_nine_are_missing(self, ledger: Services) -> None:
        assert "RUS" in membership(ledger, "ctbt", "2023-11-01")["conditions"]["required_states"]["met"]
        missing = membership(ledger, "ctbt", "2023-11-02")["conditions"]["required_states"]["missing"]
        assert missing == sorted([*ANNEX_2_HOLDOUTS, "RUS"])

    def test_russia_contracting_until_its_revocation_took_effect_then_a_signatory(self, ledger: Services) -> None:
        assert state(ledger, "ctbt", "RUS", "1996-09-23")["status"] == "none"
        assert state(ledger, "ctbt", "RUS", "2000-06-29")["status"] == "signatory"
        for day in ("2000-06-30", "2020-01-01", "2023-11-01"):
            assert state(ledger, "ctbt", "RUS", day)["status"] == "contracting"
            assert "RUS" in [c["state"] for c in membership(ledger, "ctbt", day)["contracting"]]
        for day in ("2023-11-02", "2024-06-01"):
            after = state(ledger, "ctbt", "RUS", day)
            assert (after["status"], after["since"], after["party"]) == ("signatory", "2023-11-02", False)
            answer = membership(ledger, "ctbt", day)
            assert "RUS" in answer["signatories"] and "RUS" not in [c["state"] for c in answer["contracting"]]

    @pytest.mark.parametrize("day", ["1996-09-24", "1999-10-13", "2010-01-01", "2023-11-02", "2025-01-01"])
    def test_the_united_states_is_a_signatory_on_every_date_after_24_september_1996(self, ledger: Services, day: str) -> None:
        assert state(ledger, "ctbt", "USA", day)["status"] == "signatory"
        assert "USA" in membership(ledger, "ctbt", day)["signatories"]

    def test_the_united_states_is_nothing_before_it_signed(self, ledger: Services) -> None:
        assert state(ledger, "ctbt", "USA", "1996-09-23")["status"] == "none"


class TestRussiaAcrossTreaties:
    def test_the_command_line_shows_russia_in_both(self, ledger: Services, module_database_url: str) -> None:
        result = run_cli("state-across", "RUS", "--as-of", "2024-01-01", database=module_database_url)
        assert result.exit_code == 0, result.stderr
        answer = {t["treaty"]: t for t in ledger.read.state_across("RUS", date(2024, 1, 1))["treaties"]}
        assert (answer["new-start"]["status"], answer["new-start"]["suspended"]) == ("party", True)
        assert answer["ctbt"]["status"] == "signatory"


@pytest.mark.parametrize("path", [NEW_START, CTBT], ids=["new-start", "ctbt"])
class TestTheFiles:
    def test_every_event_cites_a_source_with_a_title_or_a_url(self, path: Path) -> None:
        dataset = yaml.safe_load(path.read_text())
        assert dataset["treaty"]["source"].get("title") or dataset["treaty"]["source"].get("url")
        assert dataset["events"]
        for entry in dataset["events"]:
            assert isinstance(entry.get("source"), dict), entry["key"]
            assert entry["source"].get("title") or entry["source"].get("url"), entry["key"]

    def test_dates_are_calendar_dates_in_chronological_order(self, path: Path) -> None:
        dates = [entry["date"] for entry in entries(path)]
        assert all(isinstance(day, date) for day in dates)  # unquoted YYYY-MM-DD, as data/README.md says
        assert dates == sorted(dates)

    def test_every_approximate_date_and_every_claim_says_why_in_a_note(self, path: Path) -> None:
        for entry in entries(path):
            if entry.get("date_precision", "day") != "day":
                assert entry.get("note"), entry["key"]
            if entry.get("claimed_by") and entry["type"] not in ("allegation_made", "flight_denied"):
                assert "UNCONFIRMED" in entry.get("note", ""), entry["key"]
