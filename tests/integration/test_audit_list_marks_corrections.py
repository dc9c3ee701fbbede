"""The audit list says of each event whether it is retracted, and by which event, and which corrections name it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from treaty_ledger.api.app import create_app
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.cli.base import console
from treaty_ledger.cli.commands import app

SOURCE = {"title": "Test source", "url": "https://example.org/source"}


@dataclass(frozen=True)
class History:
    """USA signs; a false report has RUS sign; the USA's date is corrected; the false report is retracted."""

    url: str
    client: TestClient
    usa_signed: dict[str, Any]
    false_report: dict[str, Any]
    correction: dict[str, Any]
    retraction: dict[str, Any]


@pytest.fixture
def history(database_url: str) -> Iterator[History]:
    services: Services = open_services(database_url)
    try:
        services.register_treaty({"id": "test-treaty", "title": "Test treaty", "rules": {}, "source": SOURCE})
        usa = services.record_event("test-treaty", {"type": "signed", "state": "USA", "date": "1992-03-23", "source": SOURCE}).to_json()
        false = services.record_event("test-treaty", {"type": "signed", "state": "RUS", "date": "1992-03-24", "source": SOURCE}).to_json()
        correction = services.record_event("test-treaty", {"type": "correction", "corrects": usa["id"], "changes": {"date": "1992-03-24"},
                                                           "source": SOURCE}).to_json()
        retraction = services.record_event("test-treaty", {"type": "retraction", "retracts": false["id"], "reason": "a false report",
                                                           "source": SOURCE}).to_json()
        with TestClient(create_app(services=services)) as client:
            yield History(database_url, client, usa, false, correction, retraction)
    finally:
        services.close()


def listed(history: History, **params: Any) -> dict[str, dict[str, Any]]:
    response = history.client.get("/v1/treaties/test-treaty/events", params=params)
    assert response.status_code == 200, response.text
    return {e["id"]: e for e in response.json()["events"]}


def test_the_audit_list_shows_a_retracted_event_as_retracted_by_its_retraction(history: History) -> None:
    events = listed(history)
    false = events[history.false_report["id"]]
    assert false["retracted"] is True
    assert false["retracted_by"] == history.retraction["id"]
    assert events[history.retraction["id"]]["retracts"] == history.false_report["id"]
    assert events[history.usa_signed["id"]]["retracted"] is False and events[history.usa_signed["id"]]["retracted_by"] is None


def test_the_audit_list_names_the_corrections_of_an_event(history: History) -> None:
    events = listed(history)
    assert events[history.usa_signed["id"]]["corrected_by"] == [history.correction["id"]]
    assert events[history.correction["id"]]["corrects"] == history.usa_signed["id"]
    assert events[history.false_report["id"]]["corrected_by"] == []


def test_the_audit_list_keeps_the_fields_as_recorded(history: History) -> None:
    usa = listed(history)[history.usa_signed["id"]]
    fields = set(history.usa_signed) - {"recorded_at"}  # the API writes UTC as Z
    assert {k: usa[k] for k in fields} == {k: history.usa_signed[k] for k in fields}
    assert usa["date"] == "1992-03-23"  # as recorded, not as corrected


def test_the_marks_hold_whatever_the_filters(history: History) -> None:
    events = listed(history, state="RUS")
    assert list(events) == [history.false_report["id"]]
    assert events[history.false_report["id"]]["retracted_by"] == history.retraction["id"]


def test_the_audit_list_as_known_before_the_retraction_shows_the_event_live(history: History) -> None:
    events = listed(history, known_at=history.correction["recorded_at"])
    assert history.retraction["id"] not in events
    assert events[history.false_report["id"]]["retracted"] is False
    assert events[history.usa_signed["id"]]["corrected_by"] == [history.correction["id"]]


def test_the_cli_table_notes_what_retracts_and_corrects_each_event(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "width", 250)  # a wide terminal: the notes stay on one line of the table
    result = CliRunner().invoke(app, ["events", "test-treaty", "--database", history.url])
    assert result.exit_code == 0, result.output
    short = {name: event["id"][:8] for name, event in
             [("usa", history.usa_signed), ("false", history.false_report), ("correction", history.correction), ("retraction", history.retraction)]}
    text = " ".join(result.output.split())
    assert f"corrected by {short['correction']}" in text
    assert f"retracted by {short['retraction']}" in text
    assert f"corrects {short['usa']}" in text
    assert f"retracts {short['false']}" in text


def test_the_cli_json_is_the_api_page(history: History) -> None:
    result = CliRunner().invoke(app, ["events", "test-treaty", "--json", "--database", history.url])
    assert result.exit_code == 0, result.output
    api = history.client.get("/v1/treaties/test-treaty/events", params={"limit": 1000}).json()
    marks = ("id", "type", "retracted", "retracted_by", "corrected_by", "corrects", "retracts")
    assert [{k: e.get(k) for k in marks} for e in json.loads(result.output)["events"]] == [{k: e.get(k) for k in marks} for e in api["events"]]
    assert json.loads(result.output)["next_cursor"] is None


def test_an_unknown_event_type_is_refused_naming_the_field(history: History) -> None:
    response = history.client.get("/v1/treaties/test-treaty/events", params={"type": "signd"})
    assert response.status_code == 422 and response.json()["field"] == "type"
    result = CliRunner().invoke(app, ["events", "test-treaty", "--type", "signd", "--database", history.url])
    assert result.exit_code == 2 and "unknown event type 'signd'" in result.output
