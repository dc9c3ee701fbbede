"""A store written by an earlier version opens, verifies and answers the same after the change.

The fixture (tests/fixtures/wave1_store, see its README) was written by the code of commit d5c672b,
whose events are named by their old module (``domain.treaty:Treaty.EventRecorded``) and whose
treaty was snapshotted.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.domain.records import GENESIS_HASH, chain_hash
from treaty_ledger.store.datasets import export_lines

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "wave1_store"
ANSWERS: dict[str, Any] = json.loads((FIXTURE / "answers.json").read_text())
TREATY = "fixture-accord"


NEW_FIELDS = {"expires_on", "extensions", "provisionally_applying", "conditions", "suspension", "provisional", "reservations",
              "declarations", "objections_made", "objections_received", "territories", "late_joiner_alignment", "duration", "extension",
              "entry_into_force"}
"""Fields the answers gained since the fixture was written (treaty law beyond Open Skies, and its rules): the old store's
answers hold them empty; everything else is as before. A suspension also gained ``scope``, ``detail`` and ``basis``."""


def as_json(value: Any) -> Any:
    """An answer as the fixture's answers.json holds it (dates and times as ISO 8601 text), without :data:`NEW_FIELDS`."""
    text = json.loads(json.dumps(value, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else str(o)))
    return _without_new_fields(text)


def _without_new_fields(value: Any) -> Any:
    if isinstance(value, dict):
        new = NEW_FIELDS | ({"scope", "detail", "basis"} if "towards" in value and "area" not in value else set())
        assert not any(value[k] for k in new & set(value) if k != "suspension"), value  # a suspension in force is now described
        return {k: _without_new_fields(v) for k, v in value.items() if k not in new and k != "item"}  # what started or ended, now named
    if isinstance(value, list):
        return [_without_new_fields(v) for v in value]
    return value


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[Services]:
    copy = tmp_path / "store.db"
    shutil.copyfile(FIXTURE / "store.db", copy)
    services = open_services(f"sqlite:///{copy}")
    yield services
    services.close()


def test_the_old_store_verifies_with_the_same_head(legacy: Services) -> None:
    assert as_json(legacy.ledger.verify().to_json()) == ANSWERS["verify"]
    assert as_json(legacy.ledger.verify(TREATY).to_json()) == ANSWERS["verify fixture-accord"]
    assert ANSWERS["verify"]["ok"] is True and ANSWERS["verify"]["events_checked"] == 212


@pytest.mark.parametrize("day", ["2000-12-31", "2001-01-01", "2006-06-01", "2008-03-01"])
def test_the_old_store_answers_membership_and_compliance_as_before(legacy: Services, day: str) -> None:
    on = date.fromisoformat(day)
    assert as_json(legacy.read.membership_as_of(TREATY, on)) == ANSWERS[f"{TREATY} membership {day}"]
    assert as_json(legacy.read.compliance_as_of(TREATY, on)) == ANSWERS[f"{TREATY} compliance {day}"]


def test_the_old_store_answers_one_state_changes_and_an_events_history_as_before(legacy: Services) -> None:
    assert as_json(legacy.read.state_as_of(TREATY, "ITA", date(2006, 6, 1))) == ANSWERS[f"{TREATY} state ITA 2006-06-01"]
    assert as_json(legacy.read.changes_between(TREATY, date(2000, 12, 31), date(2008, 3, 1))) == ANSWERS[f"{TREATY} changes"]
    corrected = ANSWERS[f"{TREATY} event corrected"]
    answer = as_json(legacy.read.event(corrected["id"]))
    added = {"corrected_by", "retracted_by"}  # fields this version's answer gained since
    assert {k: v for k, v in answer.items() if k not in added} == corrected
    assert answer["corrected_by"] == [c["id"] for c in corrected["corrections"]] and answer["retracted_by"] is None
    assert corrected["corrections"] and corrected["date"] == "2000-07-01"


def test_the_old_store_exports_the_same_lines(legacy: Services) -> None:
    lines = list(export_lines(legacy.ledger, TREATY))
    treaty = _without_new_fields(json.loads(lines[0]))
    registration = treaty.pop("registration")  # new since: the registration as the Merkle tree holds it
    assert [json.dumps(treaty, ensure_ascii=False), *lines[1:]] == ANSWERS[f"export {TREATY}"]
    assert registration["hash"] == legacy.ledger.treaty(TREATY).registration_hash
    assert chain_hash({k: v for k, v in registration.items() if k not in ("sequence", "prev_hash", "hash")}, GENESIS_HASH) == registration["hash"]


def test_the_views_rebuilt_from_the_old_events_answer_as_before(legacy: Services) -> None:
    assert legacy.rebuild_views(workers=0) == 212
    assert as_json(legacy.read.membership_as_of(TREATY, date(2008, 3, 1))) == ANSWERS[f"{TREATY} membership 2008-03-01"]


def test_the_old_store_takes_new_events_after_its_snapshot(legacy: Services) -> None:
    legacy.record_event(TREATY, {"type": "withdrawal_notified", "state": "PRT", "date": "2009-01-01", "source": {"title": "note"}})
    withdrawing = legacy.read.membership_as_of(TREATY, date(2009, 2, 1))["withdrawing"]
    assert withdrawing == [{"state": "PRT", "notified_on": "2009-01-01", "effective_on": "2009-07-01"}]
    report = legacy.ledger.verify()
    assert report.ok and report.events_checked == 213
