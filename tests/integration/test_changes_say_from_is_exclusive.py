"""``changes`` is after ``from`` (exclusive) up to and including ``to``, and says so wherever it is described."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from treaty_ledger.api.app import create_app
from treaty_ledger.bootstrap import open_services
from treaty_ledger.cli.commands import app
from treaty_ledger.store.datasets import import_file

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('changes') / 'ledger.db'}"
    services = open_services(url)
    try:
        import_file(services.ledger, ROOT / "data" / "open-skies.yaml")
    finally:
        services.close()
    yield url


def changes(url: str, start: str, end: str, *options: str) -> str:
    result = runner.invoke(app, ["changes", "open-skies", "--from", start, "--to", end, *options, "--database", url])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_event_dated_from_is_not_a_change_and_one_dated_to_is(url: str) -> None:
    types = [e["type"] for e in json.loads(changes(url, "2020-05-21", "2020-05-22", "--json"))["events"]]
    assert "withdrawal_notified" in types  # the USA's note of 2020-05-22
    assert json.loads(changes(url, "2020-05-22", "2020-05-23", "--json"))["events"] == []


def test_the_cli_output_says_after_from_up_to_and_including_to(url: str) -> None:
    text = changes(url, "2020-01-01", "2021-12-31")
    assert "open-skies after 2020-01-01 up to and including 2021-12-31:" in text
    assert "15 events dated after 2020-01-01 up to and including 2021-12-31" in text


def test_the_cli_help_says_from_is_exclusive_and_to_inclusive() -> None:
    text = " ".join(runner.invoke(app, ["changes", "--help"], env={"COLUMNS": "200"}).output.split())
    assert re.search(r"--from DATE Start date, exclusive", text), text
    assert re.search(r"--to DATE End date, inclusive", text), text


def test_the_api_documents_from_as_exclusive_in_the_parameter_and_the_answer() -> None:
    schema = create_app().openapi()
    parameters = {p["name"]: p for p in schema["paths"]["/v1/treaties/{treaty}/changes"]["get"]["parameters"]}
    assert "exclusive" in parameters["from"]["description"] and "inclusive" in parameters["to"]["description"]
    assert "(exclusive)" in schema["components"]["schemas"]["ChangesPublic"]["description"]


def test_the_readme_says_from_is_exclusive() -> None:
    readme = (ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if "treaty-ledger changes TREATY" in line)
    assert "exclusive" in line


def test_an_item_that_started_is_named_as_such_and_keeps_its_own_kind(url: str) -> None:
    started = json.loads(changes(url, "2015-06-01", "2015-06-30", "--json"))["started"]
    kaliningrad = next(item for item in started if item.get("area") == "Kaliningrad")
    assert kaliningrad["item"] == "restriction" and kaliningrad["kind"] != "restriction"  # the restriction's own kind
