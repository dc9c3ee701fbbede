"""Query and path parameters at the door: a 4xx naming the parameter, never a 500 or a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.command_line import run_cli
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import open_services

SOURCE = {"title": "fixture"}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    services = open_services(database_url)
    services.register_treaty({"id": "t1", "title": "T1", "source": SOURCE})
    with TestClient(create_app(Settings(database=database_url), services)) as client:
        yield client
    services.close()


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-12:00"])
def test_a_known_at_that_falls_outside_the_calendar_in_utc_is_a_422_naming_it(client: TestClient, moment: str) -> None:
    response = client.get("/v1/treaties/t1/membership", params={"known_at": moment})
    assert (response.status_code, response.json()["field"]) == (422, "known_at"), response.text
    assert "outside the years 1 to 9999" in response.json()["reason"]


def test_the_cli_says_so_too_without_a_traceback(client: TestClient, database_url: str) -> None:
    result = run_cli("membership", "t1", "--known-at", "0001-01-01T00:00:00+14:00", database=database_url)
    assert result.exit_code == 2 and "known_at" in result.output and "Traceback" not in result.output, result.output


@pytest.mark.parametrize("event_id", ["%00", "not-a-uuid", "6f1c1f4e-0000-4000-8000-00000000000"])
def test_an_event_id_that_is_no_uuid_is_a_404_naming_the_id(client: TestClient, event_id: str) -> None:
    response = client.get(f"/v1/events/{event_id}")
    assert (response.status_code, response.json()["field"]) == (404, "id"), response.text
    assert "event ids are UUIDs" in response.json()["reason"]
