"""Signed checkpoints, inclusion and consistency proofs and audit receipts, over the API, checked as a client would.

Every proof is checked with the minimal RFC 9162 verifier of ``tests/rfc9162.py`` (no product
code), against a checkpoint whose signature is checked with the key the API publishes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from tests import rfc9162
from tests.command_line import create_key
from tests.scenario import SOURCE
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import open_services
from treaty_ledger.domain.checkpoints import NoteVerifier, open_checkpoint

TREATY = {"id": "open-skies", "title": "Treaty on Open Skies", "depositaries": ["CAN", "HUN"],
          "rules": {"withdrawal_notice": "P6M", "late_joiner_delay": "P60D"}, "source": SOURCE}
EVENTS = [{"type": "signed", "state": "USA", "date": "1992-03-24"}, {"type": "signed", "state": "RUS", "date": "1992-03-24"},
          {"type": "ratified", "state": "USA", "date": "1993-12-03"}, {"type": "ratified", "state": "RUS", "date": "2001-11-02"},
          {"type": "entered_into_force", "date": "2002-01-01"}, {"type": "withdrawal_notified", "state": "USA", "date": "2020-05-22"}]


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    services = open_services(database_url)
    app = create_app(settings=Settings(database=database_url), services=services)
    writer = create_key(database_url, "proof tests", "writer")
    with TestClient(app, headers={"Authorization": f"Bearer {writer}"}) as client:
        assert client.post("/v1/treaties", json=TREATY).status_code == 201
        for body in EVENTS:
            assert client.post("/v1/treaties/open-skies/events", json={**body, "source": SOURCE}).status_code == 201
        yield client
    services.close()


def opened(client: TestClient, note: str) -> tuple[int, bytes]:
    """The size and root of a signed note, its signature checked with the key the API publishes."""
    verifier = NoteVerifier.parse(client.get("/v1/checkpoints/key").json()["verifier_key"])
    checkpoint = open_checkpoint(note, verifier, origin=client.get("/v1/checkpoints/key").json()["origin"])
    return checkpoint.size, checkpoint.root


def leaf_of(entry: dict) -> bytes:
    return rfc9162.leaf(json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())


def hashes(path: list[str]) -> list[bytes]:
    return [base64.b64decode(h) for h in path]


def test_the_latest_checkpoint_is_signed_and_covers_every_event(client: TestClient) -> None:
    checkpoint = client.get("/v1/checkpoint").json()
    size, root = opened(client, checkpoint["note"])
    assert size == checkpoint["tree_size"] == 1 + len(EVENTS)  # the registration and each event
    assert base64.b64decode(checkpoint["root_hash"]) == root
    assert client.get(f"/v1/checkpoints/{size}").json() == checkpoint


def test_every_event_and_the_registration_prove_their_inclusion(client: TestClient) -> None:
    size, root = opened(client, client.get("/v1/checkpoint").json()["note"])
    events = client.get("/v1/treaties/open-skies/events").json()["events"]
    proofs = [client.get("/v1/proofs/inclusion", params={"treaty": "open-skies", "sequence": 0}).json()]
    proofs += [client.get("/v1/proofs/inclusion", params={"event": e["id"]}).json() for e in events]
    assert [p["leaf_index"] for p in proofs] == list(range(size))
    for proof in proofs:
        assert base64.b64decode(proof["leaf_hash"]) == leaf_of(proof["entry"])
        assert rfc9162.inclusion_ok(leaf_of(proof["entry"]), proof["leaf_index"], size, hashes(proof["inclusion_path"]), root)
    # the entry is the event as the audit list gives it (which writes UTC as Z; the entry, as hashed, +00:00)
    listed = {e["id"]: {**e, "recorded_at": datetime.fromisoformat(e["recorded_at"])} for e in events}
    for proof in proofs[1:]:
        entry = {**proof["entry"], "recorded_at": datetime.fromisoformat(proof["entry"]["recorded_at"])}
        assert entry == {k: v for k, v in listed[proof["event"]].items() if k not in ("retracted", "retracted_by", "corrected_by")}


def test_an_older_checkpoint_is_consistent_with_the_newer_one(client: TestClient) -> None:
    old = client.get("/v1/checkpoint").json()
    assert client.post("/v1/treaties/open-skies/events", json={"type": "statement", "state": "USA", "date": "2020-06-01",
                                                                "summary": "A statement", "source": SOURCE}).status_code == 201
    new = client.get("/v1/checkpoint").json()
    (m, old_root), (n, new_root) = opened(client, old["note"]), opened(client, new["note"])
    assert n == m + 1
    proof = client.get("/v1/proofs/consistency", params={"first": m, "second": n}).json()
    assert rfc9162.consistency_ok(m, n, old_root, new_root, hashes(proof["consistency_path"]))
    assert client.get(f"/v1/checkpoints/{m}").json() == old  # a checkpoint a client kept can be asked for again
    assert [c["tree_size"] for c in client.get("/v1/checkpoints").json()][-2:] == [m, n]
    earlier = client.get("/v1/proofs/inclusion", params={"treaty": "open-skies", "sequence": 3, "tree_size": m}).json()
    assert rfc9162.inclusion_ok(leaf_of(earlier["entry"]), earlier["leaf_index"], m, hashes(earlier["inclusion_path"]), old_root)


@pytest.mark.parametrize("path", ["/v1/treaties/open-skies/membership/receipt?as_of=2021-01-01",
                                  "/v1/treaties/open-skies/states/USA/receipt?as_of=2021-01-01",
                                  "/v1/treaties/open-skies/compliance/receipt?as_of=2021-01-01",
                                  "/v1/treaties/open-skies/changes/receipt?from=2001-01-01&to=2021-01-01"])
def test_a_receipt_proves_every_event_its_answer_rests_on(client: TestClient, path: str) -> None:
    body = client.get(path).json()
    plain = client.get(path.replace("/receipt", "")).json()
    assert body["answer"] == plain
    size, root = opened(client, body["receipt"]["checkpoint"]["note"])
    leaves = body["receipt"]["leaves"]
    cited = [e["id"] if isinstance(e, dict) else e for e in plain["events"]]
    assert {leaf["event"] for leaf in leaves} == {None, *cited}  # None: the registration, whose rules the answer applies
    for leaf in leaves:
        assert rfc9162.inclusion_ok(leaf_of(leaf["entry"]), leaf["leaf_index"], size, hashes(leaf["inclusion_path"]), root)


def test_an_events_receipt_proves_the_event(client: TestClient) -> None:
    event = client.get("/v1/treaties/open-skies/events").json()["events"][2]
    body = client.get(f"/v1/events/{event['id']}/receipt").json()
    assert body["answer"]["id"] == event["id"]
    assert [leaf["event"] for leaf in body["receipt"]["leaves"]] == [None, event["id"]]


@pytest.mark.parametrize(("path", "status", "field"), [
    ("/v1/checkpoints/999", 404, "size"),
    ("/v1/proofs/inclusion?treaty=open-skies&sequence=1&tree_size=999", 404, "size"),
    ("/v1/proofs/inclusion?treaty=open-skies&sequence=99", 404, "sequence"),
    ("/v1/proofs/inclusion?event=00000000-0000-0000-0000-000000000000", 404, "event"),
    ("/v1/proofs/inclusion", 422, "event"),
    ("/v1/proofs/inclusion?treaty=open-skies&sequence=5&tree_size=3", 404, "size"),
    ("/v1/proofs/consistency?first=5&second=3", 422, "first"),
    ("/v1/proofs/consistency?first=0", 422, "first"),
    ("/v1/proofs/consistency?first=2&second=999", 404, "size"),
    ("/v1/checkpoints/0", 422, "size"),
])
def test_proofs_that_cannot_be_given_say_why(client: TestClient, path: str, status: int, field: str) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field


def test_without_a_signing_key_there_is_no_checkpoint_to_give(sqlite_url: str) -> None:
    services = open_services(sqlite_url, signer=None)
    with TestClient(create_app(settings=Settings(database=sqlite_url), services=services)) as client:
        for path in ("/v1/checkpoint", "/v1/checkpoints/key"):
            response = client.get(path)
            assert response.status_code == 503 and response.json()["error"] == "unsigned" and "keys signing create" in response.json()["reason"]
            assert "Retry-After" not in response.headers
    services.close()
