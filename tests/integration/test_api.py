"""The HTTP API, called in process through its ASGI app, on SQLite and on PostgreSQL.

Requests go through FastAPI's routing, validation, dependencies and error handlers as they do
behind a real server (``tests/e2e/`` keeps the few tests that need one: several workers, the
environment-driven settings); the store is real, so writes and reads are the ledger's own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from tests.command_line import create_key, run_cli
from tests.scenario import SOURCE
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.store.keys import KeyStore

OPEN_SKIES = {"id": "open-skies", "title": "Treaty on Open Skies", "depositaries": ["CAN", "HUN"],
              "rules": {"withdrawal_notice": "P6M", "late_joiner_delay": "P60D", "earliest_withdrawal_notice": None, "minimum_parties": None},
              "source": {"title": "Treaty on Open Skies", "url": "https://www.osce.org/library/14127"}}


@dataclass
class Served:
    """The app on one store, with a client per kind of caller (each a lifespan of the same app)."""

    database: str
    services: Services
    writer: TestClient
    reader: TestClient
    anonymous: TestClient
    stack: ExitStack

    def client(self, key: str | None = None) -> TestClient:
        """Another client of the app, sending ``key`` (closed with the others)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.stack.enter_context(TestClient(self.writer.app, headers=headers))


@dataclass
class Api:
    """The served app and a fresh treaty of this test's own."""

    served: Served
    treaty: str

    @property
    def writer(self) -> TestClient:
        return self.served.writer

    @property
    def reader(self) -> TestClient:
        return self.served.reader

    @property
    def anonymous(self) -> TestClient:
        return self.served.anonymous

    def record(self, body: dict, **headers: str) -> Response:
        return self.writer.post(f"/v1/treaties/{self.treaty}/events", json=body, headers=headers)

    def get(self, path: str, **params: str) -> Response:
        return self.anonymous.get(f"/v1/treaties/{self.treaty}{path}", params=params)

    def count(self) -> int:
        return int(self.get("").json()["events"])


@pytest.fixture(scope="module")
def served(module_database_url: str) -> Iterator[Served]:
    """One app per store for this module, with a writer key and a reader key."""
    database = module_database_url
    services = open_services(database)
    keys = KeyStore(services.view)
    (_, writer_key), (_, reader_key) = keys.create("test writer", "writer"), keys.create("test reader", "reader")
    app = create_app(settings=Settings(database=database), services=services)
    with ExitStack() as stack:
        writer, reader, anonymous = (stack.enter_context(TestClient(app, headers=headers)) for headers in (
            {"Authorization": f"Bearer {writer_key}"}, {"Authorization": f"Bearer {reader_key}"}, {}))
        yield Served(database, services, writer, reader, anonymous, stack)
    services.close()


_treaties = itertools.count()


@pytest.fixture
def api(served: Served) -> Api:
    treaty = f"open-skies-{next(_treaties)}"
    assert served.writer.post("/v1/treaties", json={**OPEN_SKIES, "id": treaty}).status_code == 201
    for body in ({"type": "signed", "state": "USA", "date": "1992-03-24"}, {"type": "signed", "state": "KGZ", "date": "1992-12-15"},
                 {"type": "ratified", "state": "USA", "date": "1993-12-03"}, {"type": "ratified", "state": "RUS", "date": "2001-11-02"},
                 {"type": "entered_into_force", "date": "2002-01-01"}):
        response = served.writer.post(f"/v1/treaties/{treaty}/events", json={**body, "source": SOURCE})
        assert response.status_code == 201, response.text
    return Api(served, treaty)


class TestWriting:
    def test_a_recorded_event_comes_back_with_the_ledgers_fields(self, api: Api) -> None:
        response = api.record({"type": "withdrawal_notified", "state": "United States", "date": "2020-05-22", "source": SOURCE})
        assert response.status_code == 201
        body = response.json()
        assert body["state"] == "USA" and body["sequence"] == 6 and body["treaty"] == api.treaty
        assert len(body["hash"]) == 64 and len(body["prev_hash"]) == 64 and body["recorded_at"].endswith("Z")

    def test_a_read_after_a_write_sees_it(self, api: Api) -> None:
        api.record({"type": "withdrawal_notified", "state": "USA", "date": "2020-05-22", "source": SOURCE})
        membership = api.get("/membership", as_of="2020-06-01").json()
        assert membership["parties"] == ["RUS", "USA"]
        assert membership["withdrawing"] == [{"state": "USA", "notified_on": "2020-05-22", "effective_on": "2020-11-22"}]
        assert membership["signatories"] == ["KGZ"]
        state = api.get("/states/USA", as_of="2021-01-01").json()
        assert (state["status"], state["effective_on"]) == ("withdrawn", "2020-11-22")

    def test_registering_a_treaty_twice_is_a_409(self, api: Api) -> None:
        response = api.writer.post("/v1/treaties", json={**OPEN_SKIES, "id": api.treaty})
        assert response.status_code == 409 and response.json()["field"] == "id"


BAD_INPUT = [
    ({"type": "signed", "state": "Atlantis", "date": "1992-03-24", "source": SOURCE}, "state", "unknown state"),
    ({"type": "signed", "state": "USA", "date": "1992-02-30", "source": SOURCE}, "date", "'1992-02-30' is not a real calendar date"),
    ({"type": "signed", "state": "USA", "date": "not a date", "source": SOURCE}, "date", "expected a date YYYY-MM-DD, got 'not a date'"),
    # Dates as the domain reads them, not as pydantic would: no numbers, no timestamps.
    ({"type": "signed", "state": "USA", "date": 86400, "source": SOURCE}, "date", "expected a date YYYY-MM-DD, got 86400"),
    ({"type": "signed", "state": "USA", "date": "1992-03-24T00:00:00", "source": SOURCE}, "date", "expected a date YYYY-MM-DD"),
    ({"type": "signed", "state": "USA", "date": "1992-03-24", "source": {**SOURCE, "published_on": "1992"}}, "source.published_on",
     "expected a date YYYY-MM-DD, got '1992'"),
    ({"type": "signed", "state": "USA", "date": "1992-03-24"}, "source", "required"),
    ({"type": "signed", "state": "USA", "date": "1992-03-24", "source": {"publisher": "x"}}, "source", "title or a url"),
    ({"type": "ratify", "state": "USA", "date": "1992-03-24", "source": SOURCE}, "type", "unknown event type 'ratify'"),
    ({"type": "ratified", "state": "USA", "date": "1995-01-01", "source": SOURCE}, "state", "already deposited an instrument"),
    ({"type": "withdrawal_notified", "state": "KGZ", "date": "2020-01-01", "source": SOURCE}, "state", "never joined"),
    ({"type": "withdrawal_rescinded", "state": "USA", "date": "2020-01-01", "source": SOURCE}, "state", "no withdrawal notice pending"),
    ({"type": "restriction_lifted", "state": "RUS", "date": "2020-01-01", "restriction": "6f1c1f4e-0000-4000-8000-000000000000", "source": SOURCE},
     "restriction", "no restriction_imposed event"),
    ({"type": "correction", "corrects": "6f1c1f4e-0000-4000-8000-000000000000", "changes": {"date": "2002-12-12"}, "source": SOURCE},
     "corrects", "no event with id"),
]


class TestBadInput:
    @pytest.mark.parametrize(("body", "field", "reason"), BAD_INPUT, ids=[f"{b['type']}-{f}" for b, f, _ in BAD_INPUT])
    def test_bad_input_gets_a_422_naming_the_field_and_nothing_is_recorded(self, api: Api, body: dict, field: str, reason: str) -> None:
        before = api.count()
        response = api.record(body)
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["field"] == field and reason in error["reason"]
        assert api.count() == before

    def test_rescinding_a_withdrawal_that_already_took_effect_is_a_422(self, api: Api) -> None:
        api.record({"type": "withdrawal_notified", "state": "USA", "date": "2020-05-22", "source": SOURCE})
        before = api.count()
        response = api.record({"type": "withdrawal_rescinded", "state": "USA", "date": "2021-01-01", "source": SOURCE})
        assert response.status_code == 422 and "already took effect on 2020-11-22" in response.json()["reason"]
        assert api.count() == before

    def test_an_unknown_treaty_is_a_404(self, api: Api) -> None:
        response = api.writer.post("/v1/treaties/new-start/events", json={"type": "signed", "state": "USA", "date": "2010-04-08", "source": SOURCE})
        assert response.status_code == 404 and response.json()["field"] == "treaty"
        assert api.anonymous.get("/v1/treaties/new-start/membership").status_code == 404

    def test_a_malformed_as_of_is_a_422(self, api: Api) -> None:
        response = api.get("/membership", as_of="2020-02-30")
        assert response.status_code == 422 and response.json()["field"] == "as_of"

    def test_a_bad_date_in_a_body_is_worded_as_a_bad_as_of_is(self, api: Api) -> None:
        in_body = api.record({"type": "signed", "state": "USA", "date": "2020-02-30", "source": SOURCE}).json()
        in_query = api.get("/membership", as_of="2020-02-30").json()
        assert (in_body["error"], in_query["error"]) == ("invalid_date", "invalid_date")
        assert in_body["reason"] == in_query["reason"] == "'2020-02-30' is not a real calendar date (day is out of range for month)"

    def test_a_body_that_is_not_json_names_the_body_and_where_it_breaks(self, api: Api) -> None:
        before = api.count()
        response = api.writer.post(f"/v1/treaties/{api.treaty}/events", content=b'{"type": "signed", "state": ',
                                   headers={"content-type": "application/json"})
        assert response.status_code == 422
        assert response.json()["field"] == "body"
        assert response.json()["reason"] == "the request body is not valid JSON at character 28: Expecting value"
        assert api.count() == before


class TestKeys:
    def test_a_write_without_a_key_is_a_401(self, api: Api) -> None:
        response = api.anonymous.post(f"/v1/treaties/{api.treaty}/events", json={"type": "signed", "state": "FRA", "date": "1992-03-24", "source": SOURCE})
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"

    def test_an_unknown_key_is_a_401(self, api: Api) -> None:
        response = api.anonymous.post("/v1/treaties", json=OPEN_SKIES, headers={"Authorization": "Bearer tl_nope_nope"})
        assert response.status_code == 401

    def test_reads_are_open_but_a_key_sent_with_one_is_checked(self, api: Api) -> None:
        assert api.anonymous.get(f"/v1/treaties/{api.treaty}/membership").status_code == 200
        assert api.reader.get(f"/v1/treaties/{api.treaty}/membership").status_code == 200
        mistyped = api.anonymous.get(f"/v1/treaties/{api.treaty}/membership", headers={"Authorization": "Bearer tl_nope_nope"})
        assert mistyped.status_code == 401 and mistyped.json()["reason"] == "unknown or revoked API key"
        assert mistyped.headers["www-authenticate"] == "Bearer"

    def test_a_reader_key_on_a_write_is_a_403(self, api: Api) -> None:
        response = api.reader.post(f"/v1/treaties/{api.treaty}/events", json={"type": "signed", "state": "FRA", "date": "1992-03-24", "source": SOURCE})
        assert response.status_code == 403 and "writer" in response.json()["reason"]

    def test_the_interactive_docs_offer_the_key_as_a_bearer_scheme_needed_for_writes_only(self, api: Api) -> None:
        document = api.anonymous.get("/openapi.json").json()
        scheme = document["components"]["securitySchemes"]["API key"]
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer") and "treaty-ledger keys create" in scheme["description"]
        paths = document["paths"]
        assert paths["/v1/treaties/{treaty}/events"]["post"]["security"] == [{"API key": []}]
        assert paths["/v1/treaties/{treaty}/events"]["get"]["security"] == [{}, {"API key": []}]  # {}: no key also works
        assert "security" not in paths["/healthz"]["get"]
        headers = [p["name"].lower() for p in paths["/v1/treaties/{treaty}/events"]["post"].get("parameters", []) if p["in"] == "header"]
        assert "authorization" not in headers  # the scheme carries it, as Swagger UI's Authorize button expects

    def test_a_revoked_key_is_a_401(self, api: Api) -> None:
        key = create_key(api.served.database, "short-lived", "writer")
        client = api.served.client(key)
        body = {"type": "signed", "state": "FRA", "date": "1992-03-24", "source": SOURCE}
        assert client.post(f"/v1/treaties/{api.treaty}/events", json=body).status_code == 201
        key_id = key.split("_")[1]
        assert run_cli("keys", "revoke", key_id, database=api.served.database).exit_code == 0
        assert client.post(f"/v1/treaties/{api.treaty}/events", json={**body, "state": "DEU"}).status_code == 401
        listed = run_cli("keys", "list", database=api.served.database).stdout
        assert "short-lived" in listed and key not in listed


class TestIdempotency:
    def test_a_retried_post_records_one_event_and_returns_the_first_response(self, api: Api) -> None:
        body = {"type": "acceded", "state": "FIN", "date": "2002-12-12", "source": SOURCE}
        first = api.record(body, **{"Idempotency-Key": "fin-accession"})
        before = api.count()
        second = api.record(body, **{"Idempotency-Key": "fin-accession"})
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert api.count() == before

    def test_the_same_key_with_another_body_is_a_422(self, api: Api) -> None:
        api.record({"type": "acceded", "state": "FIN", "date": "2002-12-12", "source": SOURCE}, **{"Idempotency-Key": "k1"})
        before = api.count()
        response = api.record({"type": "acceded", "state": "LVA", "date": "2002-12-13", "source": SOURCE}, **{"Idempotency-Key": "k1"})
        assert response.status_code == 422 and response.json()["field"] == "Idempotency-Key"
        assert api.count() == before


class TestAudit:
    def test_the_history_pages_with_a_cursor_and_filters(self, api: Api) -> None:
        first = api.get("/events", limit="3").json()
        second = api.get("/events", limit="3", cursor=first["next_cursor"]).json()
        assert [e["sequence"] for e in first["events"] + second["events"]] == [1, 2, 3, 4, 5]
        assert second["next_cursor"] is None
        usa = api.get("/events", state="USA").json()
        assert [e["type"] for e in usa["events"]] == ["signed", "ratified"]

    def test_an_event_shows_its_correction_and_known_at_gives_the_earlier_answer(self, api: Api) -> None:
        wrong = api.record({"type": "acceded", "state": "FIN", "date": "2002-12-13", "source": SOURCE}).json()
        fix = api.record({"type": "correction", "corrects": wrong["id"], "changes": {"date": "2002-12-12"}, "source": SOURCE}).json()
        history = api.anonymous.get(f"/v1/events/{wrong['id']}").json()
        assert [c["id"] for c in history["corrections"]] == [fix["id"]] and history["retracted"] is False
        now = api.get("/states/FIN", as_of="2003-02-10").json()
        then = api.get("/states/FIN", as_of="2003-02-10", known_at=wrong["recorded_at"]).json()
        assert (now["status"], then["status"]) == ("party", "contracting")

    def test_verify_recomputes_the_chains(self, api: Api) -> None:
        body = api.anonymous.get("/v1/verify").json()
        assert body["ok"] is True and body["events_checked"] >= 6
        mine = api.get("/verify").json()
        assert mine["ok"] is True and mine["events_checked"] == 6

    def test_health_and_readiness(self, api: Api) -> None:
        assert api.anonymous.get("/healthz").json() == {"status": "ok"}
        assert api.anonymous.get("/readyz").json()["status"] == "ready"
