"""Treaty law beyond Open Skies over HTTP, on SQLite and on PostgreSQL: a reservation and an objection
recorded through the API, the reservations route as of a date and as known at a moment, the checks
at the door, one state across every treaty, and the same answers from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.command_line import run_cli
from tests.scenario import SOURCE
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import open_services
from treaty_ledger.store.keys import KeyStore

TREATY = {"id": "convention", "title": "A Convention", "depositaries": ["CHE"], "rules": {"withdrawal_notice": "P1Y"}, "source": SOURCE}
TERM = {"id": "bilateral", "title": "A Bilateral Treaty", "rules": {"duration": "P10Y", "extension": {"max_period": "P5Y", "times": 1}},
        "source": SOURCE}


@dataclass
class Served:
    database: str
    client: TestClient
    ids: dict[str, str]

    def record(self, treaty: str, key: str | None = None, **body: object) -> dict:
        response = self.client.post(f"/v1/treaties/{treaty}/events", json={**body, "source": SOURCE})
        assert response.status_code == 201, response.text
        if key:
            self.ids[key] = response.json()["id"]
        return dict(response.json())

    def get(self, path: str, **params: str) -> dict:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture(scope="module")
def served(module_database_url: str) -> Iterator[Served]:
    """Two treaties recorded over HTTP: a convention with a reservation, objections and a retraction; a treaty with a term."""
    services = open_services(module_database_url)
    _, key = KeyStore(services.view).create("writer", "writer")
    app = create_app(settings=Settings(database=module_database_url), services=services)
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as client:
        s = Served(module_database_url, client, {})
        for body in (TREATY, TERM):
            assert client.post("/v1/treaties", json=body).status_code == 201
        for state in ("FRA", "DEU", "ITA"):
            s.record("convention", type="ratified", state=state, date="1990-01-01")
        s.record("convention", type="entered_into_force", date="1990-06-01")
        s.record("convention", "reservation", type="reservation_made", state="FRA", date="1991-01-01", text="Article 8 does not apply",
                 articles=["Article 8"])
        s.record("convention", "objection", type="objection_made", state="DEU", date="1991-06-01", reservation=s.ids["reservation"],
                 text="incompatible with the object and purpose", precludes_entry_into_force=False)
        s.record("convention", "doubted", type="objection_made", state="ITA", date="1991-07-01", reservation=s.ids["reservation"],
                 text="reported by one newspaper")
        s.ids["before retraction"] = datetime.now(UTC).isoformat()
        s.record("convention", type="retraction", retracts=s.ids["doubted"], reason="the report was false")
        s.record("convention", type="reservation_withdrawn", state="FRA", date="2000-01-01", reservation=s.ids["reservation"])
        for state in ("USA", "RUS"):
            s.record("bilateral", type="ratified", state=state, date="2011-02-05")
        s.record("bilateral", type="entered_into_force", date="2011-02-05")
        s.record("bilateral", type="extended", date="2021-02-03", until="2026-02-05")
        s.record("bilateral", type="implementation_suspended", state="RUS", date="2023-02-28", towards=["USA"], scope="complete",
                 basis="countermeasure")
        yield s
    services.close()


class TestReservationsRoute:
    def test_a_reservation_and_its_objection_are_in_force_between_their_dates(self, served: Served) -> None:
        answer = served.get("/v1/treaties/convention/reservations", as_of="1995-01-01")
        assert [(r["id"], r["state"], r["articles"]) for r in answer["reservations"]] == [(served.ids["reservation"], "FRA", ["Article 8"])]
        assert [(o["id"], o["state"], o["reservation"], o["reserving_state"]) for o in answer["objections"]] == [
            (served.ids["objection"], "DEU", served.ids["reservation"], "FRA")]
        assert {served.ids["reservation"], served.ids["objection"]} <= set(answer["events"])
        assert served.get("/v1/treaties/convention/reservations", as_of="1990-12-31")["reservations"] == []

    def test_both_are_gone_after_the_reservation_is_withdrawn(self, served: Served) -> None:
        answer = served.get("/v1/treaties/convention/reservations", as_of="2000-01-01")
        assert (answer["reservations"], answer["objections"]) == ([], [])

    def test_as_known_before_its_retraction_the_retracted_objection_still_shows(self, served: Served) -> None:
        before = served.get("/v1/treaties/convention/reservations", as_of="1995-01-01", known_at=served.ids["before retraction"])
        assert sorted(o["state"] for o in before["objections"]) == ["DEU", "ITA"]
        now = served.get("/v1/treaties/convention/reservations", as_of="1995-01-01")
        assert [o["state"] for o in now["objections"]] == ["DEU"]

    def test_one_state_lists_what_it_made_and_received(self, served: Served) -> None:
        france = served.get("/v1/treaties/convention/states/FRA", as_of="1995-01-01")
        assert [r["text"] for r in france["reservations"]] == ["Article 8 does not apply"]
        assert [o["state"] for o in france["objections_received"]] == ["DEU"]
        germany = served.get("/v1/treaties/convention/states/DEU", as_of="1995-01-01")
        assert [o["reserving_state"] for o in germany["objections_made"]] == ["FRA"] and germany["objections_received"] == []

    def test_a_receipt_proves_the_reservations_answer(self, served: Served) -> None:
        body = served.get("/v1/treaties/convention/reservations/receipt", as_of="1995-01-01")
        assert body["answer"] == served.get("/v1/treaties/convention/reservations", as_of="1995-01-01")
        assert {leaf["event"] for leaf in body["receipt"]["leaves"]} >= set(body["answer"]["events"])


class TestAtTheDoor:
    @pytest.mark.parametrize(("body", "field", "reason"), [
        ({"type": "objection_made", "state": "ITA", "date": "1992-01-01", "text": "x"}, "reservation", "reservation_made"),
        ({"type": "extended", "date": "2001-01-01", "until": "2010-01-01"}, "type", "no duration"),
        ({"type": "signature_withdrawn", "state": "FRA", "date": "2001-01-01"}, "state", "is bound"),
        ({"type": "signature_withdrawn", "state": "GBR", "date": "2001-01-01"}, "state", "not a signatory"),
        ({"type": "instrument_withdrawn", "state": "FRA", "date": "2001-01-01"}, "state", "took effect on 1990-06-01"),
        ({"type": "territorial_application", "state": "FRA", "date": "2001-01-01", "territory": "Corsica"}, "applies", "needs applies"),
    ])
    def test_bad_acts_are_422_naming_the_field_and_nothing_is_stored(self, served: Served, body: dict, field: str, reason: str) -> None:
        if body["type"] == "objection_made":
            body = {**body, "reservation": served.ids["objection"]}  # an objection_made event, not a reservation
        before = served.get("/v1/treaties/convention")["events"]
        response = served.client.post("/v1/treaties/convention/events", json={**body, "source": SOURCE})
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field and reason in response.json()["reason"]
        assert served.get("/v1/treaties/convention")["events"] == before

    @pytest.mark.parametrize(("body", "field", "reason"), [
        ({"type": "extended", "date": "2021-03-01", "until": "2030-01-01"}, "type", "1 time"),
        ({"type": "extended", "date": "2026-02-05", "until": "2027-01-01"}, "date", "expired on 2026-02-05"),
    ])
    def test_an_extension_beyond_the_rule_or_after_expiry_is_refused(self, served: Served, body: dict, field: str, reason: str) -> None:
        response = served.client.post("/v1/treaties/bilateral/events", json={**body, "source": SOURCE})
        assert response.status_code == 422 and response.json()["field"] == field and reason in response.json()["reason"], response.text


class TestTermsAndSuspensions:
    def test_membership_shows_the_expiry_the_extension_and_the_suspension(self, served: Served) -> None:
        answer = served.get("/v1/treaties/bilateral/membership", as_of="2024-01-01")
        assert answer["in_force"] and answer["expires_on"] == "2026-02-05" and answer["parties"] == ["RUS", "USA"]
        assert [(e["on"], e["until"]) for e in answer["extensions"]] == [("2021-02-03", "2026-02-05")]
        assert [(s["state"], s["scope"], s["basis"], s["towards"]) for s in answer["suspended"]] == [("RUS", "complete", "countermeasure", ["USA"])]
        expired = served.get("/v1/treaties/bilateral/membership", as_of="2026-02-05")
        assert (expired["in_force"], expired["phase"], expired["parties"]) == (False, "expired", [])

    def test_compliance_shows_the_suspensions_scope_and_basis(self, served: Served) -> None:
        answer = served.get("/v1/treaties/bilateral/compliance", as_of="2024-01-01")
        assert [(s["state"], s["scope"], s["basis"]) for s in answer["suspensions"]] == [("RUS", "complete", "countermeasure")]


class TestOneStateAcrossTreaties:
    def test_the_state_route_lists_its_status_in_every_treaty(self, served: Served) -> None:
        answer = served.get("/v1/states/Russia", as_of="2024-01-01")
        assert answer["state"] == "RUS"
        by_treaty = {t["treaty"]: t for t in answer["treaties"]}
        assert (by_treaty["bilateral"]["status"], by_treaty["bilateral"]["suspended"]) == ("party", True)
        assert by_treaty["bilateral"]["suspension"]["basis"] == "countermeasure"
        assert (by_treaty["convention"]["status"], by_treaty["convention"]["title"]) == ("none", "A Convention")

    def test_as_known_before_a_treaty_was_registered_it_is_not_listed(self, served: Served) -> None:
        assert served.get("/v1/states/RUS", as_of="2024-01-01", known_at="2020-01-01T00:00:00Z")["treaties"] == []
        later = served.get("/v1/states/RUS", as_of="2024-01-01", known_at=served.ids["before retraction"])
        assert {t["treaty"] for t in later["treaties"]} == {"convention", "bilateral"}

    def test_an_unknown_state_is_a_422_naming_it(self, served: Served) -> None:
        response = served.client.get("/v1/states/Atlantis")
        assert response.status_code == 422 and response.json()["field"] == "state"

    def test_the_command_line_prints_the_same_json_and_a_table(self, served: Served) -> None:
        result = run_cli("state-across", "RUS", "--as-of", "2024-01-01", "--json", database=served.database)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == served.get("/v1/states/RUS", as_of="2024-01-01")
        table = run_cli("state-across", "RUS", "--as-of", "2024-01-01", database=served.database)
        assert table.exit_code == 0 and "bilateral" in table.stdout and "yes" in table.stdout

    def test_the_reservations_command_prints_the_same_json_and_a_table(self, served: Served) -> None:
        result = run_cli("reservations", "convention", "--as-of", "1995-01-01", "--json", database=served.database)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == served.get("/v1/treaties/convention/reservations", as_of="1995-01-01")
        table = run_cli("reservations", "convention", "--as-of", "1995-01-01", database=served.database)
        assert table.exit_code == 0 and "objection" in table.stdout and "Article 8" in table.stdout
