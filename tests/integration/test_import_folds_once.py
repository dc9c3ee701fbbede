"""An import checks and records a dataset folding each event once, not the whole timeline again per
event (issue 13, items 1 and 2: its cost grew with the square of the history)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.domain.fold import TimelineFold
from treaty_ledger.store.datasets import DatasetError, import_file

DATASET = Path(__file__).resolve().parents[2] / "data" / "open-skies.yaml"


@pytest.fixture
def folds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The id of every event folded into a timeline, in the order folded (by the aggregate and the views)."""
    folded: list[str] = []
    step = TimelineFold.step

    def counting(self: TimelineFold, event: Any) -> None:
        folded.append(event.id)
        step(self, event)

    monkeypatch.setattr(TimelineFold, "step", counting)
    return folded


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    opened = open_services(database_url)
    yield opened
    opened.close()


def test_importing_the_open_skies_dataset_folds_each_event_once(services: Services, folds: list[str]) -> None:
    report = import_file(services.ledger, DATASET)
    assert report.recorded == 98 and report.registered
    recorded = [r.id for r in services.ledger.list_events("open-skies")]
    assert sorted(folds) == sorted(recorded)
    again = import_file(services.ledger, DATASET)
    assert (again.recorded, again.already_there) == (0, 98)
    assert len(folds) == 98 and len(services.ledger.list_events("open-skies")) == 98  # nothing new, nothing folded


def test_a_later_entry_that_contradicts_an_earlier_one_is_named_and_nothing_is_stored(services: Services, tmp_path: Path) -> None:
    document = yaml.safe_load(DATASET.read_text())
    usa = next(e for e in document["events"] if e["type"] == "ratified" and e["state"] == "USA")
    document["events"].append({**usa, "key": "usa-ratifies-again", "date": "2005-01-01"})
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document, allow_unicode=True))
    with pytest.raises(DatasetError) as caught:
        import_file(services.ledger, bad)
    assert caught.value.field is not None and caught.value.field.startswith(f"events[{len(document['events']) - 1}] (usa-ratifies-again)")
    assert "already deposited" in caught.value.reason
    assert services.ledger.list_treaties() == []


def test_an_import_leaves_the_cycle_collector_as_it_found_it(services: Services, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "treaty", "id": "x"}\n{"id": "not a uuid"}\n')
    assert gc.isenabled()
    import_file(services.ledger, DATASET)
    assert gc.isenabled()
    with pytest.raises(DatasetError):
        import_file(services.ledger, bad)
    assert gc.isenabled()
    gc.disable()
    try:
        import_file(services.ledger, DATASET)
        assert not gc.isenabled()
    finally:
        gc.enable()
