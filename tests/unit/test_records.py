"""Recorded events as stored: the JSON the views keep is the JSON the API answers with."""

import json
from datetime import UTC, date, datetime

import pytest

from domain.records import GENESIS_HASH, Record, json_default


def record(type_: str, fields: dict[str, object], day: date | None = date(2020, 5, 22)) -> Record:
    return Record(
        id="6f1c1f4e-0000-4000-8000-000000000001", treaty="open-skies", sequence=7, type=type_, date=day, fields=fields,
        source={"title": "Note to the depositaries — Erklärung", "accessed": date(2026, 11, 1)},
        recorded_at=datetime(2026, 11, 25, 9, 30, 0, 5, tzinfo=UTC), prev_hash=GENESIS_HASH, hash="ab" * 32,
    )


@pytest.mark.parametrize("stored", [
    record("withdrawal_notified", {"state": "USA", "effective_on": date(2020, 11, 22)}),
    record("correction", {"corrects": "6f1c1f4e-0000-4000-8000-000000000002", "changes": {"date": "2002-12-12", "towards": ["USA", "CAN"]}}, None),
    record("allegation_made", {"key": "k", "accuser": "USA", "accused": "RUS", "subject": "Kaliningrad — 500 km", "restrictions": ("a", "b")}),
])
def test_the_stored_text_is_the_json_of_the_answer(stored: Record) -> None:
    assert stored.to_json_text() == json.dumps(stored.to_json())
    assert json.loads(stored.to_json_text())["recorded_at"] == "2026-11-25T09:30:00.000005+00:00"


def test_values_json_cannot_hold_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        json_default({"USA"})
