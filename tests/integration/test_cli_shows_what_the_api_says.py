"""The command line's tables say what the API's JSON says: suspensions, since when a party is one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from treaty_ledger.bootstrap import open_services
from treaty_ledger.cli.commands import app
from treaty_ledger.store.datasets import import_file

DATASET = Path(__file__).resolve().parents[2] / "data" / "open-skies.yaml"
SOURCE = {"title": "Test source", "url": "https://example.org/source"}
runner = CliRunner()


@dataclass(frozen=True)
class Store:
    """The Open Skies dataset, plus two suspensions of implementation, in a SQLite file."""

    url: str
    russia_suspends: str
    georgia_suspends: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'ledger.db'}"
    services = open_services(url)
    try:
        import_file(services.ledger, DATASET)
        russia = services.record_event("open-skies", {"type": "implementation_suspended", "state": "RUS", "date": "2008-12-12",
                                                      "towards": ["GEO"], "source": SOURCE})
        georgia = services.record_event("open-skies", {"type": "implementation_suspended", "state": "GEO", "date": "2012-05-01",
                                                       "source": SOURCE})
    finally:
        services.close()
    yield Store(url, russia.id, georgia.id)


def cli(store: Store, *args: str) -> str:
    result = runner.invoke(app, [*args, "--database", store.url])
    assert result.exit_code == 0, result.output
    return result.output


def row(output: str, code: str) -> list[str]:
    """The cells of the table row of state ``code``."""
    line = next(line for line in output.splitlines() if re.match(rf"│\s*{code}\s", line))
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


def test_membership_shows_a_suspending_party_as_suspending_towards_whom_since_when(store: Store) -> None:
    api = json.loads(cli(store, "membership", "open-skies", "--as-of", "2015-01-01", "--json"))
    assert {s["state"] for s in api["suspended"]} == {"RUS", "GEO"}
    table = cli(store, "membership", "open-skies", "--as-of", "2015-01-01")
    assert row(table, "RUS")[2] == "party, suspending"
    assert row(table, "GEO")[2] == "party, suspending"
    assert row(table, "DEU")[2] == "party"
    assert "RUS (Russian Federation) suspends implementation towards GEO since 2008-12-12" in table
    assert "GEO (Georgia) suspends implementation towards all States Parties since 2012-05-01" in table


def test_membership_before_a_suspension_shows_none(store: Store) -> None:
    table = cli(store, "membership", "open-skies", "--as-of", "2005-01-01")
    assert row(table, "RUS")[2] == "party"
    assert "suspends" not in table


def test_state_says_a_suspending_party_suspends_towards_whom_since_when(store: Store) -> None:
    api = json.loads(cli(store, "state", "open-skies", "RUS", "--as-of", "2015-01-01", "--json"))
    assert api["suspended"] is True and store.russia_suspends in api["events"]
    text = cli(store, "state", "open-skies", "RUS", "--as-of", "2015-01-01")
    assert "party since 2002-01-01" in text
    assert "RUS (Russian Federation) suspends implementation towards GEO since 2008-12-12" in text
    assert "GEO (Georgia) suspends" not in text  # only the state's own suspensions


def test_compliance_prints_the_suspensions(store: Store) -> None:
    api = json.loads(cli(store, "compliance", "open-skies", "--as-of", "2015-01-01", "--json"))
    assert {s["id"] for s in api["suspensions"]} == {store.russia_suspends, store.georgia_suspends}
    text = cli(store, "compliance", "open-skies", "--as-of", "2015-01-01")
    assert "suspensions of implementation" in text
    section = text.split("suspensions of implementation")[1].split("denied flights")[0]
    assert row(section, "RUS")[2:4] == ["GEO", "2008-12-12"]
    assert row(section, "GEO")[2:4] == ["all", "2012-05-01"]


def test_membership_shows_the_date_each_party_became_one(store: Store) -> None:
    table = cli(store, "membership", "open-skies", "--as-of", "2015-01-01")
    assert row(table, "FIN")[3] == "2003-02-10"  # acceded 2002-12-12, a party 60 days later
    services = open_services(store.url)
    try:
        for code in ("BEL", "SWE", "FIN", "RUS"):
            assert row(table, code)[3] == services.read.state_as_of("open-skies", code, date(2015, 1, 1))["since"]
    finally:
        services.close()
