"""Sixteen HTTP writers at once over four treaties, against a real ``treaty-ledger serve`` (issue 13).

PostgreSQL with four API workers (the compose file's API), SQLite with one (the embedded store
serves one worker). Every write carries an Idempotency-Key. Afterwards: no answer was a 5xx,
every write's event is stored exactly once (by id, with its own body), each treaty's sequences
run 1..n without a gap, verify is ok; and retries with the same Idempotency-Key and body, sent
on fresh connections (on PostgreSQL perhaps to another worker), one right after its write and
then all of them at once, are answered with the first response, byte for byte, recording nothing.

The server's output goes to a pipe nobody reads (``tests.e2e.server``): at about 90 bytes an
access-log line, the few hundred requests here stay well inside its 64 KiB.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx2
import pytest

from tests.e2e.server import Server, create_key, start_server
from tests.scenario import SOURCE

WRITERS = 16
TREATIES = [f"concurrent-{i}" for i in range(4)]
WRITES = 6
"""Writes per writer: 96 in all, half of them retried at once, all of them retried at the end."""


@dataclass(frozen=True)
class Write:
    """A writer's ``number``-th write: a statement to its treaty, under an Idempotency-Key of its own."""

    writer: int
    number: int

    @property
    def treaty(self) -> str:
        return TREATIES[self.writer % len(TREATIES)]

    @property
    def summary(self) -> str:
        return f"writer {self.writer} write {self.number}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Idempotency-Key": f"writer-{self.writer}-write-{self.number}"}

    @property
    def body(self) -> dict[str, object]:
        return {"type": "statement", "state": "FRA", "date": "2020-01-01", "summary": self.summary, "source": SOURCE}


@dataclass(frozen=True)
class Sent:
    """A write and the answer to it."""

    write: Write
    status: int
    content: bytes


@dataclass
class Served:
    server: Server
    key: str


@pytest.fixture
def served(database_url: str) -> Iterator[Served]:
    key = create_key(database_url, "writers", "writer")
    server = start_server(database_url, workers=4 if database_url.startswith("postgresql") else 1)
    try:
        with server.client(key) as client:
            for treaty in TREATIES:
                response = client.post("/v1/treaties", json={"id": treaty, "title": f"Treaty {treaty}", "source": SOURCE})
                assert response.status_code == 201, response.text
        yield Served(server, key)
    finally:
        server.stop()


def at_once(work: Callable[[int], list[Sent]]) -> list[Sent]:
    """``work(writer)`` for every writer, each in a thread of its own, released together; what they sent, in writer order."""
    start = threading.Barrier(WRITERS)
    results: list[list[Sent] | BaseException] = [[] for _ in range(WRITERS)]

    def run(writer: int) -> None:
        try:
            start.wait(timeout=60)
            results[writer] = work(writer)
        except BaseException as error:
            results[writer] = error
            start.abort()

    threads = [threading.Thread(target=run, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    sent: list[Sent] = []
    for result in results:
        if isinstance(result, BaseException):
            raise AssertionError(f"a writer failed: {result!r}") from result
        sent += result
    return sent


def post(client: httpx2.Client, write: Write) -> Sent:
    response = client.post(f"/v1/treaties/{write.treaty}/events", json=write.body, headers=write.headers)
    return Sent(write, response.status_code, response.content)


def order(sent: Sent) -> tuple[int, int]:
    return sent.write.writer, sent.write.number


def stored(client: httpx2.Client, treaty: str) -> list[dict[str, object]]:
    response = client.get(f"/v1/treaties/{treaty}/events", params={"limit": 1000})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    events: list[dict[str, object]] = response.json()["events"]
    return events


def test_sixteen_writers_over_four_treaties_lose_nothing_duplicate_nothing_and_retries_get_the_first_answer(served: Served) -> None:
    server, key = served.server, served.key
    retried_at_once: list[tuple[Sent, Sent]] = []

    def write_all(writer: int) -> list[Sent]:
        sent = []
        with server.client(key) as client:
            for number in range(WRITES):
                first = post(client, Write(writer, number))
                sent.append(first)
                if number % 2:  # a retry right away, on a fresh connection (perhaps another worker)
                    with server.client(key) as fresh:
                        retried_at_once.append((first, post(fresh, first.write)))
        return sent

    writes = at_once(write_all)
    statuses = Counter(sent.status for sent in writes)
    assert statuses == {201: WRITERS * WRITES}, [sent.content[:300] for sent in writes if sent.status != 201][:5]
    assert len(retried_at_once) == WRITERS * WRITES // 2
    for first, again in retried_at_once:
        assert (again.status, again.content) == (first.status, first.content), (first.write.summary, again.content[:300])

    def retry_all(writer: int) -> list[Sent]:
        with server.client(key) as client:
            return [post(client, sent.write) for sent in writes if sent.write.writer == writer]

    retries = at_once(retry_all)  # every write's retry, all at once
    assert sorted(retries, key=order) == sorted(writes, key=order)  # each the first answer, byte for byte

    ids = {sent.write: json.loads(sent.content)["id"] for sent in writes}
    assert len(set(ids.values())) == WRITERS * WRITES
    with server.client() as reader:
        for treaty in TREATIES:
            events = stored(reader, treaty)
            mine = {event_id: write.summary for write, event_id in ids.items() if write.treaty == treaty}
            listed = Counter(str(e["id"]) for e in events)
            assert listed == dict.fromkeys(mine, 1)  # each write's event exactly once, and nothing else
            assert {str(e["id"]): e["summary"] for e in events} == mine  # each with its own body
            assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
            report = reader.get(f"/v1/treaties/{treaty}/verify").json()
            assert report["ok"] and report["events_checked"] == len(events) + 1, report
        verified = reader.get("/v1/verify")
    assert verified.status_code == 200, verified.text
    assert verified.json()["ok"] is True and verified.json()["events_checked"] == WRITERS * WRITES + len(TREATIES), verified.json()
