"""The Rome Statute and CFE datasets answer as history does, on SQLite and on PostgreSQL; every event cites a source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.store.datasets import import_file, key_id

DATA = Path(__file__).resolve().parents[2] / "data"
ROME = DATA / "rome-statute.yaml"
CFE = DATA / "cfe.yaml"
COUNTS = {"rome-statute": 315, "cfe": 231}


@pytest.fixture(scope="module")
def ledger(module_database_url: str) -> Iterator[Services]:
    """Both datasets imported once per store (the tests using it record nothing)."""
    services = open_services(module_database_url)
    for treaty, path in (("rome-statute", ROME), ("cfe", CFE)):
        report = import_file(services.ledger, path)
        assert (report.treaty, report.registered, report.recorded, report.already_there) == (treaty, True, COUNTS[treaty], 0)
    services.read.refresh()
    yield services
    services.close()


def membership(services: Services, treaty: str, day: str) -> dict[str, Any]:
    return services.read.membership_as_of(treaty, date.fromisoformat(day))


def state(services: Services, treaty: str, code: str, day: str) -> dict[str, Any]:
    return services.read.state_as_of(treaty, code, date.fromisoformat(day))


def entries(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["events"]
    return events


class TestRomeStatuteEntryIntoForce:
    def test_not_in_force_on_30_june_2002_though_more_than_60_instruments_are_deposited(self, ledger: Services) -> None:
        answer = membership(ledger, "rome-statute", "2002-06-30")
        assert (answer["in_force"], answer["phase"], answer["parties"]) == (False, "not_in_force", [])
        assert answer["conditions"]["met"] and answer["conditions"]["instruments"]["required"] == 60

    def test_in_force_on_1_july_2002_with_66_states_parties(self, ledger: Services) -> None:
        answer = membership(ledger, "rome-statute", "2002-07-01")
        assert (answer["in_force"], answer["phase"], len(answer["parties"])) == (True, "in_force", 66)
        assert {"SEN", "COD", "SVK", "ZAF", "HUN"} <= set(answer["parties"]) and "COG" not in answer["parties"]
        assert answer["parties"] == sorted(answer["parties"])

    def test_greece_deposits_after_the_60th_instrument_so_it_is_contracting_on_1_july_and_a_party_from_1_august_2002(self, ledger: Services) -> None:
        contracting = {c["state"]: c for c in membership(ledger, "rome-statute", "2002-07-01")["contracting"]}
        assert contracting["GRC"] == {"state": "GRC", "deposited_on": "2002-05-15", "party_from": "2002-08-01"}
        assert contracting["AUS"]["party_from"] == "2002-09-01"  # deposited on the day of entry into force
        assert state(ledger, "rome-statute", "GRC", "2002-07-31")["status"] == "contracting"
        greece = state(ledger, "rome-statute", "GRC", "2002-08-01")
        assert (greece["status"], greece["since"]) == ("party", "2002-08-01")
        assert "GRC" in membership(ledger, "rome-statute", "2002-08-01")["parties"]

    def test_the_counts_the_court_announced_123rd_124th_and_125th_state_party(self, ledger: Services) -> None:
        for day, count in (("2015-04-01", 123), ("2016-06-01", 124), ("2020-02-01", 123), ("2024-02-01", 124), ("2025-01-01", 125)):
            assert len(membership(ledger, "rome-statute", day)["parties"]) == count, day


class TestRomeStatuteSignatures:
    def test_the_united_states_is_no_longer_a_signatory_from_6_may_2002_and_its_history_stays(self, ledger: Services) -> None:
        assert state(ledger, "rome-statute", "USA", "2002-05-05")["status"] == "signatory"
        assert "USA" in membership(ledger, "rome-statute", "2002-05-05")["signatories"]
        usa = state(ledger, "rome-statute", "USA", "2002-05-06")
        assert (usa["status"], usa["since"]) == ("none", "2002-05-06")
        assert "USA" not in membership(ledger, "rome-statute", "2002-05-06")["signatories"]
        signed, unsigned = key_id("rome-statute", "usa-signed"), key_id("rome-statute", "usa-signature-withdrawn")
        assert {signed, unsigned} <= set(usa["events"])
        history = [(r.id, r.type) for r in ledger.ledger.list_events("rome-statute") if r.state == "USA"]
        assert history == [(signed, "signed"), (unsigned, "signature_withdrawn")]

    def test_israel_sudan_and_russia_also_leave_the_signatories_and_russias_notice_is_a_claim(self, ledger: Services) -> None:
        signatories = membership(ledger, "rome-statute", "2017-01-01")["signatories"]
        assert not {"ISR", "SDN", "RUS", "USA"} & set(signatories) and {"IRN", "EGY", "THA"} <= set(signatories)
        russia = next(e for e in entries(ROME) if e["key"] == "rus-signature-withdrawn")
        assert russia["claimed_by"] == "RUS" and "UNCONFIRMED" in russia["note"]


class TestRomeStatuteWithdrawals:
    def test_burundi_is_withdrawing_from_27_october_2016_and_withdrawn_from_27_october_2017(self, ledger: Services) -> None:
        assert state(ledger, "rome-statute", "BDI", "2016-10-26")["status"] == "party"
        notice = state(ledger, "rome-statute", "BDI", "2016-10-27")
        assert (notice["status"], notice["notified_on"], notice["effective_on"]) == ("withdrawing", "2016-10-27", "2017-10-27")
        assert "BDI" in membership(ledger, "rome-statute", "2017-10-26")["parties"]
        after = membership(ledger, "rome-statute", "2017-10-27")
        assert "BDI" not in after["parties"]
        assert {"state": "BDI", "notified_on": "2016-10-27", "effective_on": "2017-10-27"}.items() <= next(
            w for w in after["withdrawn"] if w["state"] == "BDI").items()
        assert state(ledger, "rome-statute", "BDI", "2017-10-27")["status"] == "withdrawn"

    @pytest.mark.parametrize(("code", "party_from", "notified_on", "rescinded_on"),
                             [("ZAF", "2002-07-01", "2016-10-19", "2017-03-07"), ("GMB", "2002-09-01", "2016-11-10", "2017-02-10")])
    def test_south_africa_and_the_gambia_stay_parties_throughout_and_their_notices_are_rescinded(
            self, ledger: Services, code: str, party_from: str, notified_on: str, rescinded_on: str) -> None:
        for day in (party_from, notified_on, "2016-12-31", rescinded_on, "2017-12-31", "2026-10-01"):
            assert code in membership(ledger, "rome-statute", day)["parties"], day
        assert state(ledger, "rome-statute", code, notified_on)["status"] == "withdrawing"
        after = state(ledger, "rome-statute", code, rescinded_on)
        assert (after["status"], after["since"]) == ("party", rescinded_on)
        assert key_id("rome-statute", f"{code.lower()}-withdrawal-rescinded") in after["events"]
        assert code not in {w["state"] for w in membership(ledger, "rome-statute", "2026-10-01")["withdrawn"]}

    def test_the_philippines_is_withdrawn_from_17_march_2019(self, ledger: Services) -> None:
        before = state(ledger, "rome-statute", "PHL", "2019-03-16")
        assert (before["status"], before["notified_on"], before["effective_on"]) == ("withdrawing", "2018-03-17", "2019-03-17")
        assert "PHL" in membership(ledger, "rome-statute", "2019-03-16")["parties"]
        after = membership(ledger, "rome-statute", "2019-03-17")
        assert "PHL" not in after["parties"] and "PHL" in {w["state"] for w in after["withdrawn"]}
        assert state(ledger, "rome-statute", "PHL", "2019-03-17")["status"] == "withdrawn"

    def test_malaysia_is_contracting_in_march_2019_and_not_bound_after_withdrawing_its_instrument_on_29_april(self, ledger: Services) -> None:
        march = membership(ledger, "rome-statute", "2019-03-15")
        assert {"state": "MYS", "deposited_on": "2019-03-04", "party_from": "2019-06-01"} in march["contracting"]
        assert state(ledger, "rome-statute", "MYS", "2019-04-28")["status"] == "contracting"
        for day in ("2019-04-29", "2019-06-01", "2026-10-01"):
            answer = membership(ledger, "rome-statute", day)
            assert "MYS" not in answer["parties"] and "MYS" not in {c["state"] for c in answer["contracting"]}, day
            assert state(ledger, "rome-statute", "MYS", day)["status"] == "none", day

    def test_hungary_rescinds_its_notice_before_it_takes_effect_and_stays_a_party(self, ledger: Services) -> None:
        assert state(ledger, "rome-statute", "HUN", "2026-05-28")["effective_on"] == "2026-06-02"
        assert state(ledger, "rome-statute", "HUN", "2026-06-02")["status"] == "party"

    def test_in_october_2026_six_withdrawals_are_pending_and_119_parties_would_remain(self, ledger: Services) -> None:
        answer = membership(ledger, "rome-statute", "2026-10-01")
        assert len(answer["parties"]) == 125
        assert sorted(w["state"] for w in answer["withdrawing"]) == ["BFA", "MLI", "NER", "NRU", "TCD", "VEN"]
        assert len(membership(ledger, "rome-statute", "2027-10-01")["parties"]) == 119


class TestRomeStatuteLateJoiners:
    def test_ukraine_is_a_party_from_1_january_2025_with_its_article_124_declaration(self, ledger: Services) -> None:
        assert state(ledger, "rome-statute", "UKR", "2024-12-31")["status"] == "contracting"
        ukraine = state(ledger, "rome-statute", "UKR", "2025-01-01")
        assert (ukraine["status"], ukraine["since"]) == ("party", "2025-01-01")
        assert [d["kind"] for d in ukraine["declarations"]] == ["Article 124 declaration"]

    def test_montenegro_is_a_party_by_succession_and_serbia_stays_one(self, ledger: Services) -> None:
        montenegro = state(ledger, "rome-statute", "MNE", "2007-01-01")
        assert (montenegro["status"], montenegro["since"]) == ("party", "2006-10-23")
        assert state(ledger, "rome-statute", "SRB", "2007-01-01")["status"] == "party"


class TestCfeParticipation:
    def test_in_force_on_9_november_1992_for_29_states_applying_it_provisionally_until_then(self, ledger: Services) -> None:
        before = membership(ledger, "cfe", "1992-11-08")
        assert (before["in_force"], before["parties"], len(before["contracting"])) == (False, [], 29)
        assert len(before["provisionally_applying"]) == 29
        answer = membership(ledger, "cfe", "1992-11-09")
        assert (answer["in_force"], len(answer["parties"]), answer["provisionally_applying"]) == (True, 29, [])
        assert {"CSHH", "RUS", "UKR", "KAZ", "USA"} <= set(answer["parties"]) and "SUHH" not in answer["parties"]

    def test_the_22_signatories_include_the_soviet_union_and_czechoslovakia(self, ledger: Services) -> None:
        answer = membership(ledger, "cfe", "1990-11-19")
        assert len(answer["signatories"]) == 22 and {"SUHH", "CSHH"} <= set(answer["signatories"])
        assert state(ledger, "cfe", "SUHH", "1992-11-09")["status"] == "none"
        assert state(ledger, "cfe", "RUS", "1992-05-15")["status"] == "signatory"

    def test_the_czech_republic_and_slovakia_are_parties_from_1993_and_czechoslovakia_is_not_counted(self, ledger: Services) -> None:
        assert "CZE" not in membership(ledger, "cfe", "1992-12-31")["parties"]
        answer = membership(ledger, "cfe", "1993-01-01")
        assert len(answer["parties"]) == 30 and {"CZE", "SVK"} <= set(answer["parties"]) and "CSHH" not in answer["parties"]
        for code in ("CZE", "SVK"):
            successor = state(ledger, "cfe", code, "1993-01-01")
            assert (successor["status"], successor["since"], successor["predecessor"]) == ("party", "1993-01-01", "CSHH")
        assert state(ledger, "cfe", "CSHH", "1993-01-01")["status"] == "none"

    def test_russia_suspends_from_12_december_2007_and_stays_a_party_until_its_withdrawal_takes_effect_on_7_november_2023(self, ledger: Services) -> None:
        assert not state(ledger, "cfe", "RUS", "2007-12-11")["suspended"]
        suspending = state(ledger, "cfe", "RUS", "2007-12-12")
        assert (suspending["status"], suspending["suspended"], suspending["suspension"]["since"]) == ("party", True, "2007-12-12")
        assert suspending["suspension"]["towards"] == [] and suspending["suspension"]["basis"]
        notice = state(ledger, "cfe", "RUS", "2023-06-09")
        assert (notice["status"], notice["effective_on"], notice["suspended"]) == ("withdrawing", "2023-11-07", True)
        for day in ("2015-01-01", "2023-06-09", "2023-11-06"):
            assert "RUS" in membership(ledger, "cfe", day)["parties"], day
        after = membership(ledger, "cfe", "2023-11-07")
        assert "RUS" not in after["parties"] and len(after["parties"]) == 29
        assert {"state": "RUS", "notified_on": "2023-06-09", "effective_on": "2023-11-07"}.items() <= after["withdrawn"][0].items()
        assert state(ledger, "cfe", "RUS", "2023-11-07")["status"] == "withdrawn"

    def test_the_united_states_suspends_towards_russia_only_from_22_november_2011(self, ledger: Services) -> None:
        assert "USA" not in {s["state"] for s in membership(ledger, "cfe", "2011-11-21")["suspended"]}
        for day in ("2011-11-22", "2023-11-06"):
            usa = next(s for s in membership(ledger, "cfe", day)["suspended"] if s["state"] == "USA")
            assert (usa["since"], usa["towards"], usa["scope"]) == ("2011-11-22", ["RUS"], "partial"), day
        one = state(ledger, "cfe", "USA", "2012-01-01")
        assert one["status"] == "party" and one["suspension"]["towards"] == ["RUS"]


class TestCfeSuspensionsAfterRussiasWithdrawal:
    def test_the_allies_suspend_the_whole_treaty_as_their_notes_take_effect(self, ledger: Services) -> None:
        suspended = {s["state"]: s for s in membership(ledger, "cfe", "2023-11-07")["suspended"]}
        assert {"DEU", "FRA", "BEL", "NLD", "LUX", "BGR", "TUR", "ROU", "NOR", "DNK"} <= set(suspended)
        assert all(suspended[s]["scope"] == "complete" and suspended[s]["towards"] == [] for s in ("DEU", "FRA", "TUR"))
        assert "ITA" not in suspended and "CAN" not in suspended
        italy = state(ledger, "cfe", "ITA", "2023-12-07")["suspension"]
        assert italy["since"] == "2023-12-07" and "Article 62" in italy["basis"]
        assert state(ledger, "cfe", "CAN", "2024-02-07")["suspension"]["since"] == "2024-02-07"
        assert state(ledger, "cfe", "POL", "2024-03-28")["suspension"]["scope"] == "complete"

    def test_belarus_suspends_towards_poland_and_the_czech_republic_and_poland_rejects_its_allegation(self, ledger: Services) -> None:
        belarus = state(ledger, "cfe", "BLR", "2023-10-30")["suspension"]
        assert (belarus["towards"], belarus["scope"]) == (["CZE", "POL"], "complete") and "Article 60" in belarus["basis"]
        allegations = ledger.read.compliance_as_of("cfe", date(2023, 12, 1))["allegations"]
        standing = {(a["accuser"], a["accused"]): a["standing"] for a in allegations if a["made_on"] == "2023-10-30"}
        assert standing == {("BLR", "POL"): "disputed", ("BLR", "CZE"): "open"}

    def test_the_soviet_data_dispute_is_resolved_in_june_1991(self, ledger: Services) -> None:
        allegations = ledger.read.compliance_as_of("cfe", date(1991, 6, 14))["allegations"]
        assert [(a["accuser"], a["accused"], a["standing"]) for a in allegations] == [("USA", "SUHH", "resolved")]


class TestBothFiles:
    @pytest.mark.parametrize("treaty", ["rome-statute", "cfe"])
    def test_a_second_import_records_nothing(self, ledger: Services, treaty: str) -> None:
        report = import_file(ledger.ledger, ROME if treaty == "rome-statute" else CFE)
        assert (report.registered, report.recorded, report.already_there) == (False, 0, COUNTS[treaty])
        assert len(ledger.ledger.list_events(treaty)) == COUNTS[treaty]

    @pytest.mark.parametrize("path", [ROME, CFE], ids=["rome-statute", "cfe"])
    def test_every_event_in_the_file_has_a_source_with_a_title_or_a_url(self, path: Path) -> None:
        events = entries(path)
        assert events and all(isinstance(e["source"], dict) and (e["source"].get("title") or e["source"].get("url")) for e in events)

    @pytest.mark.parametrize("path", [ROME, CFE], ids=["rome-statute", "cfe"])
    def test_every_unconfirmed_item_is_a_claim_and_events_are_in_date_order(self, path: Path) -> None:
        events = entries(path)
        assert all(e.get("claimed_by") for e in events if str(e.get("note", "")).startswith("UNCONFIRMED"))
        assert [e["date"] for e in events] == sorted(e["date"] for e in events)
        assert len({e["key"] for e in events}) == len(events)
