"""The tree's inner nodes stored a block at a time: the rows each size leaves, proofs in the last block (not full), other processes, older stores."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from tests.integration.helpers import execute
from tests.scenario import SOURCE
from treaty_ledger.bootstrap import Services, open_services
from treaty_ledger.domain.merkle import completed_nodes, node_hash, root_of, verify_consistency, verify_inclusion
from treaty_ledger.store.tree import BLOCK, stored
from treaty_ledger.store.tree_audit import audit_tree


def statement(number: int) -> dict[str, object]:
    return {"type": "statement", "state": "USA", "date": "2001-01-01", "summary": f"statement {number}", "source": SOURCE}


def table(database_url: str) -> str:
    schema = database_url.split("schema=")[1] if "schema=" in database_url else None
    return f'"{schema}".tl_tree_nodes' if schema else "tl_tree_nodes"


def rows(database_url: str) -> dict[tuple[int, int], bytes]:
    return {(int(level), int(idx)): bytes(hashed) for level, idx, hashed in execute(database_url, f"SELECT level, idx, hash FROM {table(database_url)}")}


def every_node(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every perfect subtree of the tree of ``leaves``, as the tree stored them all before the blocks."""
    nodes = {(0, index): leaf for index, leaf in enumerate(leaves)}
    for index in range(len(leaves)):
        for level, position in completed_nodes(index):
            nodes[(level, position)] = node_hash(nodes[(level - 1, 2 * position)], nodes[(level - 1, 2 * position + 1)])
    return nodes


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    opened = open_services(database_url)
    opened.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE})
    yield opened
    opened.close()


def check_proofs(services: Services, leaves: list[bytes], rng: random.Random) -> None:
    tree = services.tree
    size = len(leaves)
    for _ in range(4):
        index = rng.randrange(size)
        proof = tree.inclusion(tree.leaves("open-skies", [index])[0], size)
        assert verify_inclusion(leaves[index], index, size, proof.path, root_of(leaves))
        first = rng.randrange(1, size + 1)
        assert verify_consistency(first, size, root_of(leaves[:first]), root_of(leaves), tree.consistency(first, size))


def test_each_write_stores_its_leaf_and_a_full_block_its_inner_nodes(services: Services, database_url: str) -> None:
    rng = random.Random(7)
    for number in range(2 * BLOCK + 5):
        services.record_event("open-skies", statement(number))
        size = services.tree.size()
        leaves = [leaf.hash for leaf in services.tree.leaves("open-skies", list(range(size)))]
        expected = {node: hashed for node, hashed in every_node(leaves).items() if stored(*node, size)}
        assert rows(database_url) == expected, size
        check_proofs(services, leaves, rng)
        latest = services.tree.sign()
        assert latest is not None and latest.size == size and latest.root == root_of(leaves)
    assert audit_tree(services.ledger, services.tree, verifier=services.tree.signer.verifier if services.tree.signer else None,
                      kept=None).problems == []


def test_processes_taking_turns_fill_a_block_together(services: Services, database_url: str) -> None:
    other = open_services(database_url)
    try:
        for number in range(BLOCK + 3):
            (services if number % 3 else other).record_event("open-skies", statement(number))  # each reads what the other appended
        size = services.tree.size()
        assert size == BLOCK + 4
        leaves = [leaf.hash for leaf in services.tree.leaves("open-skies", list(range(size)))]
        assert rows(database_url) == {node: hashed for node, hashed in every_node(leaves).items() if stored(*node, size)}
        check_proofs(other, leaves, random.Random(3))
    finally:
        other.close()


def test_a_store_that_holds_the_last_blocks_inner_nodes_reads_and_grows_the_same(services: Services, database_url: str) -> None:
    """Versions before the blocks stored every inner node at once: the last block's are there before it is full."""
    for number in range(BLOCK + 4):
        services.record_event("open-skies", statement(number))
    size = services.tree.size()
    leaves = [leaf.hash for leaf in services.tree.leaves("open-skies", list(range(size)))]
    older = every_node(leaves)
    for (level, index), hashed in older.items():
        if not stored(level, index, size):
            execute(database_url, f"INSERT INTO {table(database_url)} (level, idx, hash) VALUES (?, ?, ?)", (level, index, hashed))
    assert rows(database_url) == older
    reopened = open_services(database_url)  # reads the edge as such a store holds it
    try:
        check_proofs(reopened, leaves, random.Random(5))
        for number in range(BLOCK):  # fills the block whose nodes are there already, and the next one part-way
            reopened.record_event("open-skies", statement(100 + number))
        size = reopened.tree.size()
        leaves = [leaf.hash for leaf in reopened.tree.leaves("open-skies", list(range(size)))]
        stored_rows = rows(database_url)
        assert stored_rows == {node: hashed for node, hashed in every_node(leaves).items() if stored(*node, size) or node in older}
        check_proofs(reopened, leaves, random.Random(6))
        assert audit_tree(reopened.ledger, reopened.tree, verifier=None, kept=None).problems == []
    finally:
        reopened.close()


def test_a_catch_up_over_a_history_stores_the_same_rows(database_url: str) -> None:
    services = open_services(database_url, catch_up=False)
    try:
        services.ledger.register_treaty({"id": "open-skies", "title": "Treaty on Open Skies", "source": SOURCE})
        for number in range(3 * BLOCK + 1):
            services.ledger.record_event("open-skies", statement(number))
        assert services.tree.catch_up(services.ledger) == 3 * BLOCK + 2
        size = services.tree.size()
        leaves = [leaf.hash for leaf in services.tree.leaves("open-skies", list(range(size)))]
        assert rows(database_url) == {node: hashed for node, hashed in every_node(leaves).items() if stored(*node, size)}
        check_proofs(services, leaves, random.Random(9))
    finally:
        services.close()
