"""The Merkle tree's own tables altered: ``verify`` reports it (never a traceback), and writes go on (never a hang)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.integration.helpers import drop_immutability, execute
from tests.scenario import SOURCE
from treaty_ledger.api.app import create_app
from treaty_ledger.api.settings import Settings
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.store.tree_audit import audit_tree


def statement(number: int) -> dict[str, object]:
    return {"type": "statement", "state": "USA", "date": "2001-01-01", "summary": f"statement {number}", "source": SOURCE}


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    opened = open_services(database_url)
    opened.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE})
    for number in range(35):  # 36 leaves: two full blocks, whose inner nodes are stored, and 4 leaves of the third
        opened.record_event("open-skies", statement(number))
    assert opened.tree.size() == 36 and opened.tree.sign() is not None
    yield opened
    opened.close()


def problems(services: Services) -> list[str]:
    assert services.tree.signer is not None
    return audit_tree(services.ledger, services.tree, verifier=services.tree.signer.verifier, kept=None).problems


def test_the_untouched_tree_verifies(services: Services) -> None:
    assert problems(services) == []


def test_a_leaf_deleted_from_the_tree_is_reported(services: Services, database_url: str) -> None:
    execute(database_url, f"DELETE FROM {table(database_url)} WHERE level = 0 AND idx = 5")
    assert any("leaf 5" in p and "missing" in p for p in problems(services))


def test_an_inner_node_altered_is_reported(services: Services, database_url: str) -> None:
    execute(database_url, f"UPDATE {table(database_url)} SET hash = ? WHERE level = 2 AND idx = 0", (b"\x00" * 32,))
    assert any("node (2, 0)" in p for p in problems(services))


def test_a_leaf_naming_another_event_is_reported(services: Services, database_url: str) -> None:
    execute(database_url, f"UPDATE {table(database_url)} SET sequence = 99 WHERE level = 0 AND idx = 3")
    assert any("leaf 3" in p and "names another event" in p for p in problems(services))


def test_events_and_their_leaves_deleted_are_found_by_the_checkpoints_left(services: Services, database_url: str) -> None:
    drop_immutability(database_url)
    nid = "notification_id" if "postgresql" in database_url else "rowid"
    execute(database_url, f"DELETE FROM {{events}} WHERE {nid} > (SELECT MAX({nid}) - 3 FROM {{events}})")
    execute(database_url, f"DELETE FROM {table(database_url)} WHERE level = 0 AND idx >= 33")
    found = problems(services)
    assert any("checkpoint 36 was issued for more events than the store holds (33)" in p for p in found), found


def test_a_malformed_checkpoint_row_is_reported_not_raised(services: Services, database_url: str) -> None:
    execute(database_url, f"UPDATE {table(database_url, 'tl_checkpoints')} SET root = 'zz'")
    assert any("a row the ledger never writes" in p for p in problems(services))


def test_writes_go_on_when_the_tree_cannot_grow(services: Services, database_url: str) -> None:
    execute(database_url, f"DELETE FROM {table(database_url)} WHERE level = 5 AND idx = 0")  # a node of the right edge
    fresh = open_services(database_url)  # a process that reads the damaged edge
    try:
        done = threading.Event()

        def write() -> None:
            fresh.record_event("open-skies", statement(99))
            done.set()

        threading.Thread(target=write, daemon=True).start()
        assert done.wait(30), "the write hung on the damaged tree"
        assert fresh.read.membership_as_of("open-skies", date(2002, 1, 1))["treaty"] == "open-skies"
        with TestClient(create_app(settings=Settings(database=database_url), services=fresh)) as client:
            response = client.get("/v1/proofs/inclusion", params={"treaty": "open-skies", "sequence": 1, "tree_size": 36})
        assert response.status_code == 500 and response.json()["error"] == "tree_damaged" and "verify" in response.json()["reason"]
    finally:
        fresh.close()


def test_a_leaf_of_the_last_block_deleted_stops_the_tree_not_the_writes(services: Services, database_url: str) -> None:
    execute(database_url, f"DELETE FROM {table(database_url)} WHERE level = 0 AND idx = 34")  # its block's inner nodes are its leaves'
    fresh = open_services(database_url)
    try:
        fresh.record_event("open-skies", statement(99))
        assert fresh.read.membership_as_of("open-skies", date(2002, 1, 1))["treaty"] == "open-skies"
        assert fresh.tree.size() == 36  # not grown: the edge cannot be read
        with TestClient(create_app(settings=Settings(database=database_url), services=fresh)) as client:
            response = client.get("/v1/proofs/inclusion", params={"treaty": "open-skies", "sequence": 33, "tree_size": 36})
        assert response.status_code == 500 and response.json()["error"] == "tree_damaged"
    finally:
        fresh.close()
    assert any("leaf 34" in p and "missing" in p for p in problems(services))


def table(database_url: str, name: str = "tl_tree_nodes") -> str:
    schema = database_url.split("schema=")[1] if "schema=" in database_url else None
    return f'"{schema}".{name}' if schema else name
