"""schemathesis against the served OpenAPI document: no 5xx, and no response that breaks its schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.command_line import create_key
from tests.e2e.server import start_server
from tests.scenario import SOURCE

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
KEYS: dict[str, str] = {}


@pytest.fixture(scope="module")
def served_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    database = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'ledger.db'}"
    KEYS["writer"] = create_key(database, "schemathesis", "writer")
    server = start_server(database)
    with server.client(KEYS["writer"]) as client:
        client.post("/v1/treaties", json={"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE,
                                          "rules": {"withdrawal_notice": "P6M", "late_joiner_delay": "P60D"}})
        for body in ({"type": "ratified", "state": "USA", "date": "1993-12-03"}, {"type": "entered_into_force", "date": "2002-01-01"}):
            client.post("/v1/treaties/open-skies/events", json={**body, "source": SOURCE})
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    yield schema
    server.stop()


def test_the_api_answers_every_generated_request_within_its_schema(served_schema: schemathesis.BaseSchema) -> None:
    operations = [result.ok() for result in served_schema.get_all_operations()]
    assert len(operations) >= 12  # every route of the API is exercised
    failures: list[str] = []
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy(), known=st.booleans(), state=st.sampled_from(["USA", "RUS", "KGZ", "XX"]))
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case: schemathesis.Case, known: bool, state: str) -> None:
            nonlocal calls
            calls += 1
            if known and case.path_parameters and "treaty" in case.path_parameters:
                case.path_parameters["treaty"] = "open-skies"  # half the cases ask about a treaty that exists
                if "state" in case.path_parameters:
                    case.path_parameters["state"] = state
            case.call_and_validate(headers={"Authorization": f"Bearer {KEYS['writer']}"}, checks=CHECKS)

        try:
            exercise()
        except Exception as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)
    assert calls >= 5 * len(operations)  # the run really sent requests
