"""The event store on SQLite and PostgreSQL: persistence, immutability, tamper evidence."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import uuid4

import pytest
from click.testing import Result

from tests.command_line import run_cli
from tests.integration.helpers import drop_immutability, execute
from tests.scenario import SOURCE, event, in_force, notified, ratified, signed
from treaty_ledger.api.schemas import VerifyPublic
from treaty_ledger.bootstrap import open_ledger
from treaty_ledger.domain.errors import TimelineContradiction, UnknownState
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.store.datasets import import_file


def open_skies(url: str) -> Ledger:
    ledger = open_ledger(url)
    ledger.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "depositaries": ["CAN", "HUN"],
                            "rules": {"withdrawal_notice": "P6M", "late_joiner_delay": "P60D"}, "source": SOURCE})
    for body in (signed("USA", "1992-03-24"), ratified("USA", "1993-12-03"), ratified("RUS", "2001-11-02"),
                 in_force("2002-01-01"), notified("USA", "2020-05-22")):
        ledger.record_event("open-skies", body)
    return ledger


def verify_cli(url: str) -> Result:
    return run_cli("verify", database=url)


class TestPersistence:
    def test_recorded_events_survive_reopening_the_store(self, database_url: str) -> None:
        first = open_skies(database_url)
        recorded = first.list_events("open-skies")
        first.close()
        again = open_ledger(database_url)
        assert [t.id for t in again.list_treaties()] == ["open-skies"]
        assert again.list_events("open-skies") == recorded
        assert [r.sequence for r in recorded] == [1, 2, 3, 4, 5]
        assert again.treaty("open-skies").timeline().segment_on("USA", recorded[-1].date.replace(year=2021)).status == "withdrawn"  # type: ignore[union-attr]

    def test_the_ledger_sets_recorded_time_in_utc(self, database_url: str) -> None:
        ledger = open_skies(database_url)
        times = [r.recorded_at for r in ledger.list_events("open-skies")]
        assert all(t.utcoffset() is not None and t.utcoffset().total_seconds() == 0 for t in times)  # type: ignore[union-attr]
        assert times == sorted(times)

    def test_snapshots_reload_the_same_treaty(self, database_url: str) -> None:
        ledger = open_skies(database_url)
        for i in range(210):
            ledger.record_event("open-skies", event("statement", "2021-01-01", "RUS", summary=f"statement {i}"))
        assert execute(database_url, "SELECT COUNT(*) FROM {snapshots}")[0][0] == 1
        reopened = open_ledger(database_url)
        assert reopened.list_events("open-skies") == ledger.list_events("open-skies")
        assert reopened.verify("open-skies").ok

    def test_a_long_batch_takes_one_snapshot_of_the_records_without_the_fold(self, database_url: str) -> None:
        ledger = open_skies(database_url)
        before = ledger.treaty("open-skies").timeline()
        batch = [event("statement", "2021-01-01", "RUS", summary=f"statement {i}") for i in range(450)]
        ledger.record_many("open-skies", batch)
        (state,) = [json.loads(row[0]) for row in execute(database_url, "SELECT state FROM {snapshots}")]
        assert "_fold" not in state["state"] and len(state["state"]["records"]) == 455
        reopened = open_ledger(database_url)
        treaty = reopened.treaty("open-skies")
        assert treaty.records == ledger.list_events("open-skies") and treaty.version == 456
        assert treaty.timeline() == before  # statements change no standing

    def test_importing_a_long_new_treaty_snapshots_it(self, database_url: str, tmp_path: Path) -> None:
        lines = [json.dumps({"kind": "treaty", "id": "long", "title": "A long treaty", "source": SOURCE})]
        lines += [json.dumps({"id": str(uuid4()), **event("statement", "2021-01-01", "RUS", summary=f"statement {i}")}) for i in range(250)]
        path = tmp_path / "long.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        ledger = open_ledger(database_url)
        assert import_file(ledger, path).recorded == 250
        assert execute(database_url, "SELECT COUNT(*) FROM {snapshots}")[0][0] == 1


class TestBadInputStoresNothing:
    def test_rejected_events_leave_the_store_unchanged(self, database_url: str) -> None:
        ledger = open_skies(database_url)
        before = execute(database_url, "SELECT COUNT(*) FROM {events}")[0][0]
        with pytest.raises(UnknownState):
            ledger.record_event("open-skies", signed("Atlantis", "1992-03-24"))
        with pytest.raises(TimelineContradiction):
            ledger.record_event("open-skies", ratified("USA", "1995-01-01"))
        assert execute(database_url, "SELECT COUNT(*) FROM {events}")[0][0] == before


class TestImmutability:
    def test_update_on_the_events_table_is_refused(self, database_url: str) -> None:
        open_skies(database_url)
        with pytest.raises(Exception, match="immutable"):
            execute(database_url, "UPDATE {events} SET topic = 'x'")

    def test_delete_on_the_events_table_is_refused(self, database_url: str) -> None:
        open_skies(database_url)
        with pytest.raises(Exception, match="immutable"):
            execute(database_url, "DELETE FROM {events}")
        assert execute(database_url, "SELECT COUNT(*) FROM {events}")[0][0] == 6

    def test_update_and_delete_on_the_snapshots_table_are_refused(self, database_url: str) -> None:
        ledger = open_skies(database_url)
        for i in range(200):
            ledger.record_event("open-skies", event("statement", "2021-01-01", "RUS", summary=f"statement {i}"))
        assert execute(database_url, "SELECT COUNT(*) FROM {snapshots}")[0][0] == 1
        with pytest.raises(Exception, match="immutable"):
            execute(database_url, "UPDATE {snapshots} SET topic = 'x'")
        with pytest.raises(Exception, match="immutable"):
            execute(database_url, "DELETE FROM {snapshots}")
        assert execute(database_url, "SELECT COUNT(*) FROM {snapshots}")[0][0] == 1


class TestTamperEvidence:
    def test_an_untouched_ledger_verifies(self, database_url: str) -> None:
        open_skies(database_url)
        result = verify_cli(database_url)
        assert result.exit_code == 0, result.stderr
        assert "6 events checked" in result.stdout

    def test_changing_one_stored_events_bytes_is_found_and_named(self, database_url: str) -> None:
        ledger = open_skies(database_url)
        target = ledger.list_events("open-skies")[2]  # RUS ratified, sequence 3, aggregate version 4
        drop_immutability(database_url)
        state = execute(database_url, "SELECT state FROM {events} WHERE originator_version = 4")[0][0]
        forged = bytes(state).replace(b"2001-11-02", b"1999-11-02")
        assert forged != bytes(state)
        execute(database_url, "UPDATE {events} SET state = ? WHERE originator_version = 4", (forged,))
        result = verify_cli(database_url)
        assert result.exit_code == 1
        assert target.id in result.stderr and "sequence 3" in result.stderr
        assert "does not match its hash" in result.stderr

    def test_a_deleted_event_is_found(self, database_url: str) -> None:
        open_skies(database_url)
        drop_immutability(database_url)
        execute(database_url, "DELETE FROM {events} WHERE originator_version = 3")
        report = open_ledger(database_url).verify()
        assert not report.ok
        assert report.first_bad is not None and "missing" in report.first_bad["reason"]

    def test_reordered_events_are_found(self, database_url: str) -> None:
        open_skies(database_url)
        drop_immutability(database_url)
        rows = execute(database_url, "SELECT originator_version, state FROM {events} WHERE originator_version IN (3, 4)")
        states = {version: bytes(state) for version, state in rows}
        execute(database_url, "UPDATE {events} SET state = ? WHERE originator_version = 3", (states[4],))
        execute(database_url, "UPDATE {events} SET state = ? WHERE originator_version = 4", (states[3],))
        report = open_ledger(database_url).verify("open-skies")
        assert not report.ok and report.first_bad is not None
        assert report.first_bad["sequence"] == 2

    def test_verify_json_report(self, database_url: str) -> None:
        open_skies(database_url)
        result = run_cli("verify", "open-skies", "--json", database=database_url)
        assert result.exit_code == 0, result.stderr
        body = json.loads(result.stdout)
        assert body["ok"] is True and body["events_checked"] == 6 and len(body["head"]) == 64
        assert set(body) == set(VerifyPublic.model_fields)  # the same JSON as the API's
        assert body["first_bad_event"] is None
