"""A running API answers from views as current as the store, whoever recorded the events.

Another process (here: another set of services on the same store, standing for one) may
record events and not catch the views up (an import, a process killed between its write and
its catch-up, the projection worker stopped); a rebuild may die part-way, leaving the views
part-loaded or empty. The API's next read catches them up before it answers; while a rebuild
holds views behind the store, reads are 503 with Retry-After; ``/readyz`` is 503, saying why,
while the views are behind or held.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.scenario import SOURCE, acceded, in_force, ratified
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.projections.replay import membership_by_replay
from treaty_ledger.store.projection import APPLICATION_NAME

STATES = ["AUT", "BEL", "BGR", "CAN", "CZE", "DEU", "DNK", "ESP", "EST", "FIN", "FRA", "GBR", "GRC", "HUN",
          "ISL", "ITA", "LTU", "LUX", "NLD", "NOR", "POL", "PRT", "ROU"]
"""23 parties: a rebuild killed part-way left the API answering 18."""

ON = date(2003, 6, 1)


def treaty(slug: str) -> dict[str, object]:
    return {"id": slug, "title": slug.title(), "rules": {"withdrawal_notice": "P6M"}, "source": SOURCE}


@dataclass
class Two:
    api: TestClient
    served: Services
    other: Services

    def parties(self, slug: str = "open-skies") -> list[str]:
        response = self.api.get(f"/v1/treaties/{slug}/membership", params={"as_of": ON.isoformat()})
        assert response.status_code == 200, response.text
        return list(response.json()["parties"])

    def replayed(self, slug: str = "open-skies") -> list[str]:
        found = self.other.ledger.treaty(slug)
        return list(membership_by_replay(slug, found.rules, found.records, ON)["parties"])

    def tracked(self) -> int | None:
        return self.other.view.max_tracking_id(APPLICATION_NAME)

    def head(self) -> int | None:
        return self.other.ledger.recorder.max_notification_id()


@pytest.fixture
def two(database_url: str) -> Iterator[Two]:
    """The API's services with a client, and another process's on the same store; 23 parties and a second treaty recorded."""
    served, other = open_services(database_url), open_services(database_url)
    other.register_treaty(treaty("open-skies"))
    for state in STATES[:2]:
        other.record_event("open-skies", ratified(state, "1993-12-03"))
    other.record_event("open-skies", in_force("2002-01-01"))
    for state in STATES[2:]:
        other.record_event("open-skies", acceded(state, "2002-02-01"))
    other.register_treaty(treaty("new-start"))
    other.record_event("new-start", ratified("USA", "2001-01-01"))
    other.record_event("new-start", in_force("2001-06-01"))
    with TestClient(create_app(Settings(database=database_url), served)) as api:
        yield Two(api, served, other)
    served.close()
    other.close()


def test_events_another_process_records_are_seen_by_the_next_read_without_a_write_through_the_api(two: Two) -> None:
    assert two.parties() == STATES
    two.other.ledger.record_event("open-skies", acceded("SWE", "2002-12-13"))  # recorded, the views not caught up
    two.other.ledger.register_treaty(treaty("cfe"))
    two.other.ledger.record_event("cfe", ratified("USA", "1992-01-01"))
    two.other.ledger.record_event("cfe", in_force("1992-07-17"))
    assert two.tracked() != two.head()
    assert two.parties() == sorted([*STATES, "SWE"])
    assert two.parties("cfe") == ["USA"]
    assert two.tracked() == two.head()


def test_views_a_rebuild_left_empty_when_it_died_are_caught_up_before_an_answer(two: Two) -> None:
    view = two.other.view
    with view.rebuilding():
        view.drop_views(APPLICATION_NAME)  # ...and the rebuilding process dies here, letting go of the hold
    assert two.tracked() is None
    assert two.parties() == two.replayed() == STATES
    assert two.parties("new-start") == ["USA"]
    event = two.other.ledger.list_events("new-start")[-1]
    assert two.api.get(f"/v1/events/{event.id}").status_code == 200


def test_views_a_rebuild_killed_part_way_left_half_loaded_are_caught_up_before_an_answer(two: Two) -> None:
    class Killed(BaseException):
        pass

    def killed(_: int) -> None:
        raise Killed  # the rebuild's process dies after its first batch is written

    two.other.projection.rebuild_batch_size = 10
    with pytest.raises(Killed):
        two.other.rebuild_views(workers=0, progress=killed)
    assert two.tracked() is not None and two.tracked() < two.head()  # type: ignore[operator]
    assert two.parties() == two.replayed() == STATES
    assert two.parties("new-start") == ["USA"]


def test_readyz_is_503_saying_why_while_the_views_are_behind_then_ready_once_caught_up(two: Two) -> None:
    assert two.api.get("/readyz").status_code == 200
    two.other.ledger.record_event("open-skies", acceded("SWE", "2002-12-13"))
    response = two.api.get("/readyz")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable" and "behind" in body["reason"], body
    assert (body["views"], body["store"]) == (two.head() - 1, two.head())  # type: ignore[operator]
    assert response.headers["Retry-After"] == "1"
    ready = two.api.get("/readyz")  # the views were caught up after the first answer
    assert ready.status_code == 200 and ready.json()["views"] == two.head(), ready.text


def test_while_a_rebuild_holds_views_behind_the_store_reads_are_503_with_retry_after_and_readyz_says_why(two: Two) -> None:
    view = two.other.view
    with view.rebuilding():
        view.drop_views(APPLICATION_NAME)  # a rebuild in progress: dropped, not loaded yet
        response = two.api.get("/v1/treaties/open-skies/membership", params={"as_of": ON.isoformat()})
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "views_being_rebuilt" and int(response.headers["Retry-After"]) > 0
        ready = two.api.get("/readyz")
        assert ready.status_code == 503 and "a rebuild holds the views" in ready.json()["reason"], ready.text
    assert two.parties() == STATES  # the rebuild died: the next read caught the views up
    assert two.api.get("/readyz").status_code == 200


def test_the_views_position_and_the_stores_are_read_together_as_they_are_apart(two: Two) -> None:
    view, recorder = two.served.view, two.served.ledger.recorder
    assert view.positions(APPLICATION_NAME, recorder) == (two.tracked(), two.head())
    two.other.ledger.record_event("open-skies", acceded("SWE", "2002-12-13"))  # recorded, the views not caught up
    views, store = view.positions(APPLICATION_NAME, recorder)
    assert (views, store) == (two.tracked(), two.head())
    assert store is not None and views is not None and store == views + 1


def test_a_write_after_another_process_rebuilt_the_views_is_stored_and_answers_as_the_replay(two: Two) -> None:
    two.served.record_event("open-skies", acceded("SWE", "2002-12-13"))  # this process wrote the views last
    two.other.rebuild_views(workers=0)  # another rebuilt them: same events, the rows under new ids
    two.served.record_event("open-skies", acceded("CHE", "2002-12-20"))
    two.other.record_event("open-skies", acceded("SVN", "2002-12-27"))
    two.served.record_event("open-skies", acceded("SVK", "2003-01-03"))
    assert two.parties() == two.replayed() == sorted([*STATES, "CHE", "SVK", "SVN", "SWE"])
    assert two.tracked() == two.head()


def test_a_write_while_a_rebuild_is_loading_the_treaty_is_stored_and_left_to_the_rebuild(two: Two, database_url: str) -> None:
    fresh = open_services(database_url)  # a process that holds no treaty in memory: it reads them back from the views
    try:
        view = two.other.view
        with view.rebuilding():
            with view.cursor(commit=True) as c:  # the rebuild has loaded the treaty's first events only
                c.execute(view.q("DELETE FROM {tl_records} WHERE treaty = ? AND sequence > 2"), ("open-skies",))
            record = fresh.record_event("open-skies", acceded("SWE", "2002-12-13"))  # was a 500 (ValueError: "expected sequence 3")
            assert record.sequence == len(STATES) + 2
            assert two.head() == two.tracked() + 1  # stored; its views left to the rebuild, which applies it
    finally:
        fresh.close()
    two.other.rebuild_views(workers=0)
    assert two.parties() == two.replayed() == sorted([*STATES, "SWE"])
