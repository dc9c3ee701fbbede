"""The holes fuzzing found, seen as a client sees them: a 422 naming the field, never a 500, and nothing recorded.

One SQLite store serves the module (every request here is refused, so none changes it); the same
holes are checked on SQLite and PostgreSQL through the services in ``test_holes_at_the_door``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.server import create_key
from tests.integration.test_holes_at_the_door import cursor_of
from tests.scenario import SOURCE, event, in_force, notified, ratified, signed
from treaty_ledger.api.app import create_app
from treaty_ledger.bootstrap import Services, open_services


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    opened = open_services(f"sqlite:///{tmp_path_factory.mktemp('holes-over-http') / 'ledger.db'}")
    opened.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE,
                            "rules": {"withdrawal_notice": "P6M", "late_joiner_delay": "P60D"}})
    for body in (ratified("USA", "1993-12-03"), in_force("2002-01-01")):
        opened.record_event("open-skies", body)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def client(services: Services) -> Iterator[TestClient]:
    secret = create_key(services.database.url, "fuzzer", "writer")  # as the README makes one: the CLI
    with TestClient(create_app(services=services), raise_server_exceptions=False) as test_client:
        test_client.headers["Authorization"] = f"Bearer {secret}"
        yield test_client


def posted(client: TestClient, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Post ``body`` as an event of Open Skies; the status, the answer, and that the history did not grow."""
    before = len(client.get("/v1/treaties/open-skies/events").json()["events"])
    response = client.post("/v1/treaties/open-skies/events", json=body)
    assert len(client.get("/v1/treaties/open-skies/events").json()["events"]) == before
    return response.status_code, response.json()


def test_a_notice_whose_effect_falls_past_9999_is_a_422_naming_the_date(client: TestClient) -> None:
    status, body = posted(client, notified("USA", "9999-11-15"))
    assert (status, body["error"], body["field"]) == (422, "invalid_date", "date")


def test_an_act_dated_after_the_day_it_is_recorded_is_a_422_naming_the_date(client: TestClient) -> None:
    status, body = posted(client, signed("GBR", "2999-01-01"))
    assert (status, body["error"], body["field"]) == (422, "invalid_date", "date")
    assert "the day (UTC) it is recorded on" in body["reason"]


def test_a_correction_moving_a_date_past_today_is_a_422_naming_changes_date(client: TestClient) -> None:
    target = client.get("/v1/treaties/open-skies/events").json()["events"][0]["id"]
    status, body = posted(client, event("correction", corrects=target, changes={"date": "2999-01-01"}))
    assert (status, body["error"], body["field"]) == (422, "invalid_date", "changes.date")


@pytest.mark.parametrize("after", ["true", str(10**30)])
def test_a_cursor_naming_a_boolean_or_a_huge_number_is_a_422_naming_the_cursor(client: TestClient, after: str) -> None:
    response = client.get("/v1/treaties/open-skies/events", params={"cursor": cursor_of(f'{{"after": {after}}}')})
    assert response.status_code == 422
    assert (response.json()["error"], response.json()["field"]) == ("invalid_input", "cursor")
