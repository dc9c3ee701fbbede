"""The pages in a real browser (chromium, through Playwright), on the demo's datasets, served by a real server."""

from __future__ import annotations

import csv
import io
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from tests.browser.conftest import Site, screenshot
from tests.scenario import SOURCE

PAGES = {
    "front": "/",
    "open-skies-timeline": "/treaties/open-skies?as_of=2020-06-01",
    "open-skies-compliance": "/treaties/open-skies/compliance?as_of=2019-10-01",
    "open-skies-changes": "/treaties/open-skies/changes?from=2020-01-01&to=2021-12-31",
    "open-skies-events": "/treaties/open-skies/events",
    "new-start-timeline": "/treaties/new-start?as_of=2024-01-01",
    "ctbt-timeline": "/treaties/ctbt?as_of=2020-01-01",
    "russia-across-treaties": "/states/RUS?as_of=2024-01-01",
    "api-docs": "/docs",
    "api-reference": "/redoc",
}


def visit(page: Any, site: Site, path: str) -> None:
    response = page.goto(site.server.url + path)
    assert response is not None and response.status == 200, path
    page.wait_for_load_state("networkidle")


def timeline_items(page: Any) -> list[dict[str, Any]]:
    """The items the page's timeline holds, as drawn (read from vis-timeline's own data set), dates as YYYY-MM-DD."""
    page.wait_for_selector("#timeline[data-drawn-ms]")
    return list(page.evaluate("""window.treatyTimeline.itemsData.get().map(item => Object.assign({}, item, {
        start: new Date(item.start).toISOString().slice(0, 10), end: item.end ? new Date(item.end).toISOString().slice(0, 10) : null}))"""))


@pytest.mark.parametrize(("name", "path"), PAGES.items())
def test_every_page_loads_with_no_console_error_and_no_request_leaving_127_0_0_1(page: Any, site: Site, name: str, path: str) -> None:
    visit(page, site, path)
    screenshot(page, name)
    assert site.errors == [], site.errors
    assert site.outside == [], site.outside


def test_the_open_skies_timeline_shows_the_united_states_withdrawing_and_russia_withdrawn(page: Any, site: Site) -> None:
    visit(page, site, "/treaties/open-skies?as_of=2020-06-01")
    items = timeline_items(page)
    usa = [(i["content"], i["start"], i["end"]) for i in items if i["group"] == "USA"]
    assert ("withdrawing", "2020-05-22", "2020-11-22") in usa
    assert any(content == "withdrawn" and start == "2020-11-22" for content, start, _ in usa)
    russia = [(i["content"], i["start"]) for i in items if i["group"] == "RUS"]
    assert ("withdrawn", "2021-12-18") in russia
    assert page.locator(".vis-item.tl-withdrawing").count() >= 1  # drawn, not only held


def test_choosing_1_january_2002_as_the_as_of_date_shows_26_parties_and_puts_it_in_the_url(page: Any, site: Site) -> None:
    visit(page, site, "/treaties/open-skies?as_of=2020-06-01")
    page.fill("#as_of", "2002-01-01")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "as_of=2002-01-01" in page.url
    assert page.inner_text("#party-count") == "26"
    assert page.locator('#membership tr[data-status="party"]').count() == 26


def test_clicking_an_interval_shows_the_events_behind_it_with_their_sources(page: Any, site: Site) -> None:
    visit(page, site, "/treaties/new-start?as_of=2024-01-01")
    timeline_items(page)
    page.locator(".vis-item.tl-suspending").first.click()
    panel = page.locator("#events-panel")
    panel.wait_for(state="visible")
    assert "implementation suspended by" in panel.inner_text()
    assert panel.locator("cite").count() >= 1 and panel.locator("a[href^='/v1/events/']").count() >= 1


def test_clicking_a_row_of_the_table_shows_the_events_behind_that_states_status(page: Any, site: Site) -> None:
    visit(page, site, "/treaties/open-skies?as_of=2020-06-01")
    timeline_items(page)
    page.locator('#membership tr[data-state="USA"] td').nth(1).click()
    panel = page.locator("#events-panel")
    panel.wait_for(state="visible")
    assert "withdrawal notified by USA" in panel.inner_text() and panel.locator("cite").count() >= 1


def test_a_known_at_before_a_correction_shows_the_original_answer_and_after_it_the_corrected_one(page: Any, site: Site) -> None:
    client = site.server.client(site.key)
    treaty = {"id": "corrected-accord", "title": "A Corrected Accord", "rules": {"late_joiner_delay": "P30D"}, "source": SOURCE}
    assert client.post("/v1/treaties", json=treaty).status_code == 201
    for body in ({"type": "ratified", "state": "FRA", "date": "2000-01-01"}, {"type": "entered_into_force", "date": "2000-06-01"}):
        assert client.post("/v1/treaties/corrected-accord/events", json={**body, "source": SOURCE}).status_code == 201
    wrong = client.post("/v1/treaties/corrected-accord/events", json={"type": "acceded", "state": "DEU", "date": "2001-01-01", "source": SOURCE})
    time.sleep(0.01)  # the moment between the two records must differ from both
    before = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.01)
    fix = {"type": "correction", "corrects": wrong.json()["id"], "changes": {"date": "2003-01-01"}, "source": SOURCE}
    assert client.post("/v1/treaties/corrected-accord/events", json=fix).status_code == 201

    visit(page, site, "/treaties/corrected-accord?as_of=2002-01-01")
    assert page.inner_text("#party-count") == "1"  # corrected: Germany acceded in 2003
    page.fill("#known_at", before)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "known_at=" in page.url
    assert page.inner_text("#party-count") == "2"  # as the ledger knew it before the correction
    assert ("party", "2001-01-31") in [(i["content"], i["start"]) for i in timeline_items(page) if i["group"] == "DEU"]


def test_text_that_looks_like_markup_is_shown_as_text_and_never_run(page: Any, site: Site) -> None:
    client = site.server.client(site.key)
    treaty = {"id": "marked-up-accord", "title": "A Marked-up Accord", "source": SOURCE}
    assert client.post("/v1/treaties", json=treaty).status_code == 201
    markup = '<img src=x onerror="window.ran=1">Zone <b>A</b>'
    for body in ({"type": "ratified", "state": "FRA", "date": "2000-01-01"}, {"type": "entered_into_force", "date": "2000-06-01"},
                 {"type": "restriction_imposed", "state": "FRA", "date": "2001-01-01", "area": markup, "kind": "altitude", "detail": "a floor"}):
        assert client.post("/v1/treaties/marked-up-accord/events", json={**body, "source": SOURCE}).status_code == 201, body

    visit(page, site, "/treaties/marked-up-accord/compliance?as_of=2002-01-01")
    page.wait_for_selector("#timeline[data-drawn-ms]")
    assert page.evaluate("window.ran") is None  # the markup was not run, in the table nor in the timeline
    assert page.locator("#timeline img, #timeline b").count() == 0
    assert markup in page.inner_text("#timeline")
    assert "script-src 'self'" in (page.goto(site.server.url + "/treaties/marked-up-accord").headers.get("content-security-policy") or "")
    assert site.errors == [], site.errors


def test_the_api_docs_render_their_operations_with_the_network_cut_off(page: Any, site: Site) -> None:
    visit(page, site, "/docs")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() > 20
    assert site.outside == [] and site.errors == []
    visit(page, site, "/redoc")
    page.wait_for_selector("[data-section-id]")
    assert site.outside == [] and site.errors == []


def test_keyboard_navigation_reaches_the_date_controls_and_every_control_has_a_label(page: Any, site: Site) -> None:
    visit(page, site, "/treaties/open-skies?as_of=2020-06-01")
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
        if "known_at" in reached:
            break
    assert "as_of" in reached and "known_at" in reached, reached
    unlabelled = page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter(e => e.labels.length === 0).map(e => e.id || e.name)")
    assert unlabelled == []


def test_the_membership_csv_opens_with_the_csv_module_and_holds_the_states_of_the_json(site: Site) -> None:
    params = {"as_of": "2020-06-01"}
    answer = httpx2.get(f"{site.server.url}/v1/treaties/open-skies/membership", params=params).json()
    text = httpx2.get(f"{site.server.url}/v1/treaties/open-skies/membership", params={**params, "format": "csv"}).text
    states = {row["state"] for row in csv.DictReader(io.StringIO(text))}
    assert states == {*answer["parties"], *answer["signatories"], *(w["state"] for w in answer["withdrawn"])}


def test_the_atom_feed_parses_and_lists_the_newest_event_first(site: Site) -> None:
    feed = ET.fromstring(httpx2.get(f"{site.server.url}/v1/feed").content)
    updated = [entry.findtext("{http://www.w3.org/2005/Atom}updated") for entry in feed.iter("{http://www.w3.org/2005/Atom}entry")]
    assert updated and updated == sorted(updated, reverse=True)
