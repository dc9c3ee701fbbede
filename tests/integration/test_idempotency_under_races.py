"""Idempotency-Key under races: concurrent retries get the first response, another body a conflict.

Eight threads post at once (released together by a barrier) through one in-process app, on SQLite
and on PostgreSQL. Each race runs several rounds, on a fresh treaty each, as a race that loses
only now and then is still a bug.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from tests.scenario import SOURCE
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.domain.dates import utc_now
from treaty_ledger.store.idempotency import Answer, IdempotencyConflict, IdempotencyInProgress, IdempotencyStore, Reservation
from treaty_ledger.store.keys import KeyStore

THREADS = 8
ROUNDS = 5
STATES = ("USA", "RUS", "GBR", "FRA", "DEU", "CAN", "HUN", "POL")


@dataclass
class Served:
    """The app on one store, with two writer keys (two clients)."""

    services: Services
    client: TestClient
    alice: str
    bob: str

    def record(self, treaty: str, body: dict, *, key: str, idempotency_key: str) -> Response:
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key}
        return self.client.post(f"/v1/treaties/{treaty}/events", json=body, headers=headers)

    def stored(self, treaty: str) -> int:
        return len(self.services.ledger.list_events(treaty))


@pytest.fixture(scope="module")
def served(module_database_url: str) -> Iterator[Served]:
    services = open_services(module_database_url)
    keys = KeyStore(services.view)
    (_, alice), (_, bob) = keys.create("alice", "writer"), keys.create("bob", "writer")
    with TestClient(create_app(Settings(database=module_database_url), services)) as client:
        yield Served(services, client, alice, bob)
    services.close()


_treaties = itertools.count()


@pytest.fixture
def treaty(served: Served) -> str:
    """A fresh treaty of this round's own."""
    name = f"race-{next(_treaties)}"
    served.services.register_treaty({"id": name, "title": "Race Treaty", "source": SOURCE})
    return name


def signed(state: str) -> dict:
    return {"type": "signed", "state": state, "date": "1992-03-24", "source": SOURCE}


def at_once(calls: list[Callable[[], Response]]) -> list[Response]:
    """Run ``calls`` in threads of their own, released together; their responses in order."""
    start = threading.Barrier(len(calls))
    responses: list[Response | BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            start.wait(timeout=30)
            responses[i] = calls[i]()
        except BaseException as error:
            responses[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for response in responses:
        if not isinstance(response, Response):
            raise AssertionError(f"a request did not answer: {response!r}")
    return responses  # type: ignore[return-value]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_eight_retries_at_once_store_one_event_and_all_get_the_same_201(served: Served, treaty: str, round_: int) -> None:
    body = signed("USA")
    responses = at_once([lambda: served.record(treaty, body, key=served.alice, idempotency_key="usa-signs")] * THREADS)
    assert [r.status_code for r in responses] == [201] * THREADS, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1  # byte for byte the same body
    assert served.stored(treaty) == 1
    assert responses[0].json()["state"] == "USA"
    later = served.record(treaty, body, key=served.alice, idempotency_key="usa-signs")
    assert (later.status_code, later.content) == (201, responses[0].content)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_eight_bodies_at_once_under_one_key_store_one_and_the_others_conflict(served: Served, treaty: str, round_: int) -> None:
    calls = [lambda state=state: served.record(treaty, signed(state), key=served.alice, idempotency_key="one-key")  # type: ignore[misc]
             for state in STATES]
    responses = at_once(calls)
    created = [(state, r) for state, r in zip(STATES, responses, strict=True) if r.status_code == 201]
    conflicts = [r for r in responses if r.status_code == 422]
    assert len(created) == 1, [r.text for r in responses]
    assert len(conflicts) == THREADS - 1, [r.text for r in responses]
    assert all(r.json()["error"] == "idempotency_conflict" and r.json()["field"] == "Idempotency-Key" for r in conflicts)
    state, winner = created[0]
    assert winner.json()["state"] == state  # its own body, not another request's
    events = served.services.ledger.list_events(treaty)
    assert [e.id for e in events] == [winner.json()["id"]]
    again = served.record(treaty, signed(state), key=served.alice, idempotency_key="one-key")
    assert (again.status_code, again.content) == (201, winner.content)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_clients_with_one_idempotency_key_both_record(served: Served, treaty: str, round_: int) -> None:
    responses = at_once([lambda: served.record(treaty, signed("USA"), key=served.alice, idempotency_key="shared"),
                         lambda: served.record(treaty, signed("RUS"), key=served.bob, idempotency_key="shared")])
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert [r.json()["state"] for r in responses] == ["USA", "RUS"]
    assert served.stored(treaty) == 2


def test_a_failed_write_leaves_the_key_free_for_a_retry(served: Served, treaty: str) -> None:
    ratified = {"type": "ratified", "state": "USA", "date": "1993-12-03", "source": SOURCE}
    withdrawn = {"type": "withdrawal_notified", "state": "USA", "date": "1993-12-01", "source": SOURCE}
    refused = served.record(treaty, withdrawn, key=served.alice, idempotency_key="usa-withdraws")
    assert refused.status_code == 422 and refused.json()["error"] != "idempotency_conflict", refused.text
    assert served.stored(treaty) == 0
    assert served.record(treaty, ratified, key=served.alice, idempotency_key="usa-ratifies").status_code == 201
    withdrawn["date"] = "2020-05-22"  # the corrected body, under the same key: nothing held the key
    retried = served.record(treaty, withdrawn, key=served.alice, idempotency_key="usa-withdraws")
    assert retried.status_code == 201, retried.text
    assert served.stored(treaty) == 2


def test_eight_failing_retries_at_once_all_get_the_failure_and_store_nothing(served: Served, treaty: str) -> None:
    withdrawn = {"type": "withdrawal_notified", "state": "USA", "date": "1993-12-01", "source": SOURCE}
    responses = at_once([lambda: served.record(treaty, withdrawn, key=served.alice, idempotency_key="fails")] * THREADS)
    assert [r.status_code for r in responses] == [422] * THREADS, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert served.stored(treaty) == 0


def test_a_reservation_left_by_a_process_that_died_is_taken_over_without_recording_twice(
        served: Served, treaty: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = served.record(treaty, signed("USA"), key=served.alice, idempotency_key="died")
    assert first.status_code == 201
    view = served.services.view
    with view.cursor(commit=True) as c:  # as if the process died after recording, before storing its response
        c.execute(view.q("UPDATE {idempotency} SET status = 0, response = '' WHERE key = ?"), ("died",))
    monkeypatch.setattr(IdempotencyStore, "wait", 0.05)
    waiting = served.record(treaty, signed("USA"), key=served.alice, idempotency_key="died")
    assert waiting.status_code == 409 and waiting.json()["error"] == "idempotency_in_progress", waiting.text
    assert waiting.headers["Retry-After"] == "1"
    monkeypatch.setattr(IdempotencyStore, "stale_after", 0.0)
    taken_over = served.record(treaty, signed("USA"), key=served.alice, idempotency_key="died")
    assert taken_over.status_code == 201, taken_over.text
    assert taken_over.json() == first.json()
    assert served.stored(treaty) == 1


def test_the_store_reserves_answers_releases_and_conflicts(database_url: str) -> None:
    services = open_services(database_url)
    try:
        store = IdempotencyStore(services.view)
        store.wait = 0.05
        reserved = store.claim("k", "s", "hash-a")
        assert isinstance(reserved, Reservation)
        with pytest.raises(IdempotencyConflict):
            store.claim("k", "s", "hash-b")  # at once, while the first is still in progress
        with pytest.raises(IdempotencyInProgress):
            store.claim("k", "s", "hash-a")
        store.release(reserved)
        again = store.claim("k", "s", "hash-b")  # a released key holds no body
        assert isinstance(again, Reservation)
        assert store.complete(again, 201, b'{"id":"x"}') == Answer(201, b'{"id":"x"}')
        assert store.claim("k", "s", "hash-b") == Answer(201, b'{"id":"x"}')
        assert isinstance(store.claim("k", "other scope", "hash-a"), Reservation)
    finally:
        services.close()


def test_a_response_remembered_before_keys_were_scoped_per_api_key_still_answers_its_retry(served: Served, treaty: str) -> None:
    view = served.services.view
    old = {"id": "6f1c3b9e-1a43-5d3c-9c8e-000000000001", "state": "USA"}
    with view.cursor(commit=True) as c:  # a row as the code before wrote it: scoped by treaty only
        c.execute(view.q("INSERT INTO {idempotency} VALUES (?, ?, ?, ?, ?, ?)"),
                  ("before", f"{treaty}/events", IdempotencyStore.request_hash(signed("USA")), 201, json.dumps(old), view.stamp(utc_now())))
    retried = served.record(treaty, signed("USA"), key=served.alice, idempotency_key="before")
    assert (retried.status_code, retried.json()) == (201, old)
    other = served.record(treaty, signed("RUS"), key=served.bob, idempotency_key="before")  # perhaps another client's key
    assert other.status_code == 201 and other.json()["state"] == "RUS"
    assert served.stored(treaty) == 1
