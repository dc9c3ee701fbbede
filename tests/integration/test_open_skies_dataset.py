"""The Open Skies dataset answers as history does; import and export round-trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.command_line import run_cli
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.store.datasets import DatasetError, export_lines, import_file

DATASET = Path(__file__).resolve().parents[2] / "data" / "open-skies.yaml"
CHECKED_DATES = ("1992-03-24", "2001-12-31", "2002-01-01", "2003-02-10", "2005-07-08", "2019-10-01", "2020-06-01",
                 "2020-11-22", "2021-06-18", "2021-12-18", "2024-01-01")


@pytest.fixture(scope="module")
def open_skies(module_database_url: str) -> Iterator[Services]:
    """The dataset imported once per store for the module (the tests using it record nothing)."""
    services = open_services(module_database_url)
    report = import_file(services.ledger, DATASET)
    assert (report.registered, report.recorded) == (True, 98)
    services.read.refresh()
    yield services
    services.close()


def membership(services: Services, day: str) -> dict:
    return services.read.membership_as_of("open-skies", date.fromisoformat(day))


class TestMembership:
    def test_before_entry_into_force_the_treaty_is_not_in_force_and_lists_contracting_states_and_signatories(self, open_skies: Services) -> None:
        answer = membership(open_skies, "2001-12-31")
        assert not answer["in_force"] and answer["parties"] == []
        contracting = [c["state"] for c in answer["contracting"]]
        assert len(contracting) == 26 and {"CZE", "SVK", "RUS", "BLR", "USA"} <= set(contracting) and "CSHH" not in contracting
        assert answer["signatories"] == ["KGZ"]

    def test_on_entry_into_force_26_states_parties_with_the_czech_republic_and_slovakia_by_succession(self, open_skies: Services) -> None:
        answer = membership(open_skies, "2002-01-01")
        assert answer["in_force"] and len(answer["parties"]) == 26
        assert {"CZE", "SVK"} <= set(answer["parties"]) and "CSHH" not in answer["parties"]
        cze = open_skies.read.state_as_of("open-skies", "CZE", date(2002, 1, 1))
        assert cze["predecessor"] == "CSHH"

    def test_34_states_parties_at_the_peak_and_kyrgyzstan_a_signatory(self, open_skies: Services) -> None:
        answer = membership(open_skies, "2005-07-08")
        assert len(answer["parties"]) == 34 and answer["signatories"] == ["KGZ"]
        assert len(membership(open_skies, "2005-07-07")["parties"]) == 33

    def test_kyrgyzstan_is_a_signatory_on_every_date(self, open_skies: Services) -> None:
        for day in CHECKED_DATES[1:]:
            assert membership(open_skies, day)["signatories"] == ["KGZ"], day

    def test_finland_is_a_party_sixty_days_after_its_deposit(self, open_skies: Services) -> None:
        finland = open_skies.read.state_as_of("open-skies", "FIN", date(2003, 2, 10))
        assert (finland["status"], finland["since"]) == ("party", "2003-02-10")

    def test_on_1_june_2020_the_united_states_is_withdrawing_and_still_a_party(self, open_skies: Services) -> None:
        answer = membership(open_skies, "2020-06-01")
        assert answer["withdrawing"] == [{"state": "USA", "notified_on": "2020-05-22", "effective_on": "2020-11-22"}]
        assert "USA" in answer["parties"] and len(answer["parties"]) == 34

    def test_33_parties_after_the_united_states_left_and_32_after_russia(self, open_skies: Services) -> None:
        after_us = membership(open_skies, "2020-11-22")
        assert len(after_us["parties"]) == 33 and [w["state"] for w in after_us["withdrawn"]] == ["USA"]
        after_russia = membership(open_skies, "2021-12-18")
        assert len(after_russia["parties"]) == 32
        assert {w["state"]: w["effective_on"] for w in after_russia["withdrawn"]} == {"RUS": "2021-12-18", "USA": "2020-11-22"}


class TestCompliance:
    def test_on_1_october_2019(self, open_skies: Services) -> None:
        answer = open_skies.read.compliance_as_of("open-skies", date(2019, 10, 1))
        by_area = {(r["state"], r["kind"]): r for r in answer["restrictions"]}
        corridor = by_area[("RUS", "corridor")]
        assert "10 km" in corridor["detail"] and "Abkhazia" in corridor["area"] and "South Ossetia" in corridor["area"]
        assert "Kaliningrad" in by_area[("RUS", "distance")]["area"]
        georgia = by_area[("GEO", "other")]
        assert georgia["towards"] == ["RUS"]
        center = [f for f in answer["denied_flights"] if f["host"] == "RUS" and f["denied_on"] == "2019-09-01"]
        assert len(center) == 1 and center[0]["observers"] == ["CAN", "USA"] and center[0]["claimed_by"] == "RUS"
        assert len(center[0]["alternative_timeframes_offered"]) == 1
        assert sorted({s for r in center[0]["alternative_timeframes_refused"] for s in r["observers"]}) == ["CAN", "USA"]
        standing = {(a["made_on"], a["accuser"]): a["standing"] for a in answer["allegations"]}
        assert standing[("2015-06-05", "USA")] == "open"
        assert "disputed" in standing.values()
        assert all(a["made_on"] <= "2019-10-01" for a in answer["allegations"])

    def test_russia_rejects_the_2020_allegations_the_day_after(self, open_skies: Services) -> None:
        before = open_skies.read.compliance_as_of("open-skies", date(2020, 5, 21))
        after = open_skies.read.compliance_as_of("open-skies", date(2020, 5, 22))
        made = [a for a in before["allegations"] if a["made_on"] == "2020-05-21"]
        assert [a["standing"] for a in made] == ["open"]
        assert [a["standing"] for a in after["allegations"] if a["made_on"] == "2020-05-21"] == ["disputed"]


class TestImportAndExport:
    def test_a_second_import_records_nothing(self, open_skies: Services) -> None:
        report = import_file(open_skies.ledger, DATASET)
        assert (report.registered, report.recorded, report.already_there) == (False, 0, 98)
        assert len(open_skies.ledger.list_events("open-skies")) == 98

    def test_every_event_cites_a_source(self, open_skies: Services) -> None:
        assert all(r.source.get("title") or r.source.get("url") for r in open_skies.ledger.list_events("open-skies"))

    def test_export_then_import_into_a_fresh_store_gives_the_same_answers_for_every_date(self, open_skies: Services, tmp_path: Path) -> None:
        exported = tmp_path / "open-skies.jsonl"
        exported.write_text("\n".join(export_lines(open_skies.ledger, "open-skies")) + "\n")
        lines = [json.loads(line) for line in exported.read_text().splitlines()]
        assert lines[0]["kind"] == "treaty" and [e["sequence"] for e in lines[1:]] == list(range(1, 99))
        assert all(len(e["hash"]) == 64 and e["recorded_at"] for e in lines[1:])
        fresh = open_services(f"sqlite:///{tmp_path / 'fresh.db'}")
        assert import_file(fresh.ledger, exported).recorded == 98
        fresh.read.refresh()
        for day in CHECKED_DATES:
            as_of = date.fromisoformat(day)
            assert fresh.read.membership_as_of("open-skies", as_of) == open_skies.read.membership_as_of("open-skies", as_of)
            assert fresh.read.compliance_as_of("open-skies", as_of) == open_skies.read.compliance_as_of("open-skies", as_of)
        assert import_file(fresh.ledger, exported).recorded == 0
        fresh.close()


class TestBadFiles:
    @pytest.mark.parametrize(
        ("change", "field", "reason"),
        [
            (("state: USA", "state: Atlantis"), "events[", "unknown state 'Atlantis'"),
            (("date: 2002-12-12", "date: 2002-12-32"), "events[", "date"),
            (("    allegation: usa-allegation-2020-05-21", "    allegation: no-such-key"), "allegation", "no earlier event has the key"),
        ],
    )
    def test_a_bad_entry_is_named_and_nothing_is_recorded(self, sqlite_url: str, tmp_path: Path, change: tuple[str, str], field: str, reason: str) -> None:
        text = DATASET.read_text()
        assert change[0] in text
        bad = tmp_path / "bad.yaml"
        bad.write_text(text.replace(change[0], change[1], 1))
        services = open_services(sqlite_url)
        with pytest.raises(DatasetError, match=reason) as caught:
            import_file(services.ledger, bad)
        assert caught.value.field is not None and field in caught.value.field
        assert services.ledger.list_treaties() == []
        services.close()

    def test_a_contradiction_is_named_by_its_entry_and_nothing_is_recorded(self, sqlite_url: str, tmp_path: Path) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text(DATASET.read_text() + """
  - key: kgz-withdraws
    type: withdrawal_notified
    state: KGZ
    date: 2022-01-01
    source: {title: "An invented note"}
""")
        result = run_cli("import", str(bad), database=sqlite_url)
        assert result.exit_code == 2
        assert "events[98] (kgz-withdraws).state" in result.stderr and "never joined" in result.stderr
        assert "nothing was recorded" in result.stderr
        services = open_services(sqlite_url)
        assert services.ledger.list_treaties() == []
        services.close()
