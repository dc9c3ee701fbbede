"""One state across every shipped treaty, in one answer, through the API and the command line, on both stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.command_line import run_cli
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import open_services

DATASETS = sorted((Path(__file__).resolve().parents[2] / "data").glob("*.yaml"))


@pytest.fixture(scope="module")
def client(module_database_url: str) -> Iterator[TestClient]:
    result = run_cli("import", *map(str, DATASETS), database=module_database_url)  # every dataset, as the demo loads them
    assert result.exit_code == 0, result.stderr
    services = open_services(module_database_url)
    with TestClient(create_app(settings=Settings(database=module_database_url), services=services)) as test_client:
        yield test_client
    services.close()


def test_the_shipped_datasets_are_the_five_treaties(client: TestClient) -> None:
    assert sorted(t["id"] for t in client.get("/v1/treaties").json()) == ["cfe", "ctbt", "new-start", "open-skies", "rome-statute"]


def test_russia_on_1_january_2024_in_every_shipped_treaty(client: TestClient, module_database_url: str) -> None:
    answer = client.get("/v1/states/RUS", params={"as_of": "2024-01-01"}).json()
    status = {t["treaty"]: (t["status"], t["suspended"]) for t in answer["treaties"]}
    assert status == {
        "open-skies": ("withdrawn", False),
        "new-start": ("party", True),
        "ctbt": ("signatory", False),
        "cfe": ("withdrawn", False),
        "rome-statute": ("none", False),  # it signed, then said in 2016 it would not become a party
    }
    cli = run_cli("state-across", "Russia", "--as-of", "2024-01-01", "--json", database=module_database_url)
    assert cli.exit_code == 0, cli.stderr
    assert json.loads(cli.stdout) == answer
