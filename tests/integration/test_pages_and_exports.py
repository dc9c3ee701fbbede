"""Pages, CSV and Atom, in process, on SQLite and on PostgreSQL: each page is a view of the API's answers and
links to the JSON behind it; every answer comes as CSV; the feeds list the newest recorded event first.
(``tests/browser`` drives the same pages in a real browser.)"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.scenario import SOURCE
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import open_services
from treaty_ledger.store.datasets import import_file
from treaty_ledger.store.keys import KeyStore

DATA = Path(__file__).resolve().parents[2] / "data"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def client(module_database_url: str) -> Iterator[TestClient]:
    services = open_services(module_database_url)
    for name in ("open-skies.yaml", "new-start.yaml"):
        import_file(services.ledger, DATA / name)
    _, key = KeyStore(services.view).create("writer", "writer")
    app = create_app(settings=Settings(database=module_database_url), services=services)
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as test_client:
        yield test_client
    services.close()


def page(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


class TestPages:
    def test_the_front_page_lists_the_treaties_and_finds_a_state(self, client: TestClient) -> None:
        html = page(client, "/")
        assert "Treaty on Open Skies" in html and 'href="/treaties/new-start"' in html
        found = page(client, "/?q=Finland")
        assert 'href="/states/FIN"' in found and "Treaty on Open Skies" not in found
        assert "Treaty on Open Skies" in page(client, "/?q=open")

    def test_the_treaty_page_shows_the_membership_table_as_of_the_chosen_date_and_links_its_json(self, client: TestClient) -> None:
        html = page(client, "/treaties/open-skies?as_of=2002-01-01")
        assert '<strong id="party-count">26</strong>' in html
        assert html.count('data-status="party"') == 26
        assert 'href="/v1/treaties/open-skies/membership?as_of=2002-01-01"' in html
        assert 'href="/v1/treaties/open-skies/membership/receipt?as_of=2002-01-01"' in html  # the receipt of this answer
        assert 'id="timeline-data"' in html and 'label for="as_of"' in html and 'label for="known_at"' in html

    def test_after_expiry_the_table_lists_the_states_whose_membership_ended_with_the_treaty(self, client: TestClient) -> None:
        html = page(client, "/treaties/new-start?as_of=2026-06-01")
        assert html.count('data-status="expired"') == 2 and 'data-state="RUS" data-status="expired"' in html
        assert 'data-status="expired"' not in page(client, "/treaties/new-start?as_of=2026-02-04")

    def test_the_treaty_page_embeds_the_intervals_its_timeline_draws(self, client: TestClient) -> None:
        html = page(client, "/treaties/open-skies?as_of=2020-06-01")
        assert '"content": "withdrawing"' in html and '"start": "2020-05-22"' in html and '"end": "2020-11-22"' in html

    def test_the_compliance_changes_events_and_state_pages_answer(self, client: TestClient) -> None:
        assert "Kaliningrad" in page(client, "/treaties/open-skies/compliance?as_of=2019-10-01")
        changes = page(client, "/treaties/open-skies/changes?from=2020-01-01&to=2021-12-31")
        assert "USA (United States) went from party to withdrawn on 2020-11-22" in changes
        events = page(client, "/treaties/open-skies/events?state=USA&type=withdrawal_notified")
        assert events.count('<tr id="event-') == 1 and "2020-05-22" in events
        state = page(client, "/states/RUS?as_of=2024-01-01")
        assert 'data-treaty="new-start"' in state and "withdrawn" in state

    def test_the_pages_name_the_signed_checkpoint_they_were_computed_at(self, client: TestClient) -> None:
        size = client.get("/v1/checkpoint").json()["tree_size"]
        assert f"signed checkpoint of <strong>{size}</strong> events" in page(client, "/treaties/open-skies")

    def test_an_unknown_treaty_or_a_bad_date_is_an_error_page_naming_it_not_a_500(self, client: TestClient) -> None:
        missing = client.get("/treaties/no-such-treaty")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
        assert "no treaty with id &#39;no-such-treaty&#39;" in missing.text and "<h1>Not found</h1>" in missing.text
        bad = client.get("/treaties/open-skies?as_of=2020-02-30")
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
        assert "not a real calendar date" in bad.text and "<code>as_of</code>" in bad.text
        assert bad.headers["Content-Security-Policy"]

    def test_the_api_answers_the_same_errors_as_json(self, client: TestClient) -> None:
        missing = client.get("/v1/treaties/no-such-treaty/membership")
        assert missing.status_code == 404 and missing.json()["error"] == "treaty_not_found"
        bad = client.get("/v1/treaties/open-skies/membership?as_of=2020-02-30")
        assert bad.status_code == 422 and bad.json()["field"] == "as_of"

    def test_the_docs_load_their_scripts_from_the_package(self, client: TestClient) -> None:
        for path in ("/docs", "/redoc"):
            html = page(client, path)
            scripts = [part.split('"')[1] for part in html.split("src=")[1:]]
            assert scripts and all(src.startswith("/static/vendor/") for src in scripts), scripts
            for src in scripts:
                assert client.get(src).status_code == 200
            assert "cdn" not in html.lower() and "fonts.googleapis" not in html

    def test_the_vendored_timeline_library_ships_with_its_licence(self, client: TestClient) -> None:
        assert client.get("/static/vendor/vis-timeline-8.5.4/vis-timeline-graph2d.min.js").status_code == 200
        assert "Apache" in client.get("/static/vendor/vis-timeline-8.5.4/LICENSE.md").text


def test_pages_need_a_reader_key_when_the_server_requires_one_for_reads(module_database_url: str) -> None:
    services = open_services(module_database_url)
    try:
        _, key = KeyStore(services.view).create("reader", "reader")
        app = create_app(settings=Settings(database=module_database_url, require_read_key=True), services=services)
        with TestClient(app) as anonymous:
            for path in ("/", "/treaties/open-skies", "/treaties/open-skies/compliance", "/treaties/open-skies/changes",
                         "/treaties/open-skies/events", "/states/USA"):
                refused = anonymous.get(path)
                assert refused.status_code == 401, path
                assert refused.headers["WWW-Authenticate"] == "Bearer" and "<h1>A key is needed</h1>" in refused.text
                assert "Open Skies" not in refused.text and "United States" not in refused.text
            assert anonymous.get("/", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    finally:
        services.close()


class TestCsv:
    def test_the_membership_csv_holds_the_same_states_as_the_json(self, client: TestClient) -> None:
        params = {"as_of": "2020-06-01"}
        json_answer = client.get("/v1/treaties/open-skies/membership", params=params).json()
        response = client.get("/v1/treaties/open-skies/membership", params={**params, "format": "csv"})
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        expected = {*json_answer["parties"], *json_answer["signatories"], *(w["state"] for w in json_answer["withdrawn"])}
        assert {row["state"] for row in rows} == expected
        assert next(row for row in rows if row["state"] == "USA")["status"] == "withdrawing"

    def test_each_row_of_the_membership_csv_says_since_when_and_names_the_events_behind_it(self, client: TestClient) -> None:
        params = {"as_of": "2020-06-01"}
        rows = list(csv.DictReader(io.StringIO(client.get("/v1/treaties/open-skies/membership", params={**params, "format": "csv"}).text)))
        for row in rows:
            state = client.get(f"/v1/treaties/open-skies/states/{row['state']}", params=params).json()
            assert (row["status"], row["since"], row["events"].split()) == (state["status"], state["since"], state["events"]), row["state"]
        assert next(row for row in rows if row["state"] == "BEL")["since"] == "2002-01-01"

    def test_accept_text_csv_asks_for_csv_too(self, client: TestClient) -> None:
        response = client.get("/v1/treaties/open-skies/compliance", params={"as_of": "2019-10-01"}, headers={"Accept": "text/csv"})
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert response.headers["content-type"].startswith("text/csv") and {"restriction", "allegation"} <= {r["kind"] for r in rows}
        assert client.get("/v1/treaties/open-skies/compliance", headers={"Accept": "application/json, text/csv"}).headers[
            "content-type"].startswith("application/json")

    @pytest.mark.parametrize("path", ["/v1/treaties/open-skies/states/USA?as_of=2020-06-01",
                                      "/v1/treaties/open-skies/changes?from=2020-01-01&to=2021-12-31",
                                      "/v1/treaties/open-skies/reservations", "/v1/treaties/open-skies/events?limit=5",
                                      "/v1/states/RUS?as_of=2024-01-01"])
    def test_every_answer_comes_as_csv(self, client: TestClient, path: str) -> None:
        response = client.get(path + ("&" if "?" in path else "?") + "format=csv")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        assert next(csv.reader(io.StringIO(response.text)))  # a header row

    def test_text_a_spreadsheet_would_run_as_a_formula_is_written_as_text(self, client: TestClient) -> None:
        formula = {"title": "=HYPERLINK(\"http://example.org\",\"click\")", "publisher": "@evil"}
        assert client.post("/v1/treaties", json={"id": "formula-accord", "title": "A Formula Accord", "source": SOURCE}).status_code == 201
        recorded = client.post("/v1/treaties/formula-accord/events", json={"type": "signed", "state": "FRA", "date": "2000-01-01", "source": formula})
        assert recorded.status_code == 201, recorded.text
        rows = list(csv.DictReader(io.StringIO(client.get("/v1/treaties/formula-accord/events?format=csv").text)))
        assert [(row["type"], row["source"], row["date"]) for row in rows] == [("signed", "'" + formula["title"], "2000-01-01")]

    def test_a_format_other_than_json_or_csv_is_a_422_naming_it(self, client: TestClient) -> None:
        response = client.get("/v1/treaties/open-skies/membership", params={"format": "xml"})
        assert response.status_code == 422 and response.json()["field"] == "format"


class TestAtom:
    def test_a_treatys_feed_lists_its_newest_recorded_event_first(self, client: TestClient) -> None:
        recorded = client.post("/v1/treaties/new-start/events", json={"type": "statement", "state": "USA", "date": "2026-03-01",
                                                                      "summary": "A statement recorded last", "source": SOURCE})
        assert recorded.status_code == 201, recorded.text
        response = client.get("/v1/treaties/new-start/feed")
        assert response.headers["content-type"].startswith("application/atom+xml")
        feed = ET.fromstring(response.content)
        entries = feed.findall(f"{ATOM}entry")
        assert entries[0].find(f"{ATOM}id").text == f"urn:uuid:{recorded.json()['id']}"  # type: ignore[union-attr]
        updated = [e.find(f"{ATOM}updated").text for e in entries]  # type: ignore[union-attr]
        assert updated == sorted(updated, reverse=True) and len(entries) == 44  # the dataset's 43 events and the new one

    def test_text_an_xml_document_cannot_hold_is_shown_as_a_replacement_character(self, client: TestClient) -> None:
        recorded = client.post("/v1/treaties/new-start/events", json={"type": "statement", "state": "USA", "date": "2026-03-02",
                                                                      "summary": "bell\x07 and escape\x1b", "source": SOURCE})
        assert recorded.status_code == 201, recorded.text
        response = client.get("/v1/treaties/new-start/feed", params={"limit": 1})
        assert response.status_code == 200
        summary = ET.fromstring(response.content).find(f"{ATOM}entry/{ATOM}summary")
        assert summary is not None and "bell\ufffd and escape\ufffd" in str(summary.text)

    def test_the_ledgers_feed_merges_every_treaty_newest_first(self, client: TestClient) -> None:
        feed = ET.fromstring(client.get("/v1/feed", params={"limit": 20}).content)
        entries = feed.findall(f"{ATOM}entry")
        updated = [e.find(f"{ATOM}updated").text for e in entries]  # type: ignore[union-attr]
        assert len(entries) == 20 and updated == sorted(updated, reverse=True)
