"""The Merkle tree's hashes and proofs against RFC 9162's published test vectors, and on random trees.

Vectors: transparency-dev/merkle ``testonly/constants.go`` and ``proof/verify_test.go`` (the same
values as google/certificate-transparency's ``cpp/merkletree/merkle_tree_test.cc``); leaves are
numbered from 0 here (the sources number them from 1).
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests import rfc9162
from treaty_ledger.domain import merkle

LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
NODES = {
    (1, 0): "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    (1, 1): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    (1, 2): "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    (1, 3): "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    (2, 0): "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    (2, 1): "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    (3, 0): "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
INCLUSION = {  # (index, size): path, nearest the leaf first
    (0, 1): [],
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}
CONSISTENCY = {  # (first, second): proof
    (1, 1): [],
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
    (6, 7): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}


class Stored:
    """The perfect subtrees of a tree, as the store keeps them: appended leaf by leaf."""

    def __init__(self, data: list[bytes]) -> None:
        self.nodes: dict[merkle.Node, bytes] = {}
        for index, datum in enumerate(data):
            self.nodes[(0, index)] = merkle.leaf_hash(datum)
            for level, position in merkle.completed_nodes(index):
                self.nodes[(level, position)] = merkle.node_hash(self.nodes[(level - 1, 2 * position)], self.nodes[(level - 1, 2 * position + 1)])

    def lookup(self, wanted: list[merkle.Node]) -> dict[merkle.Node, bytes]:
        return {node: self.nodes[node] for node in wanted}

    def root(self, size: int) -> bytes:
        return merkle.root_from_frontier([self.nodes[node] for node in merkle.frontier(size)])

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return merkle.proof_hashes(merkle.inclusion_ranges(index, size), self.lookup)

    def consistency(self, first: int, second: int) -> list[bytes]:
        return merkle.proof_hashes(merkle.consistency_ranges(first, second), self.lookup)


TREE = Stored(LEAVES)


def test_the_empty_tree_hashes_nothing() -> None:
    assert merkle.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.root_from_frontier([]) == merkle.EMPTY_ROOT


def test_leaf_and_node_hashes_are_rfc_9162s() -> None:
    assert merkle.leaf_hash(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert merkle.node_hash(b"N123", b"N456").hex() == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_the_root_of_each_size_is_the_published_one(size: int) -> None:
    assert TREE.root(size).hex() == ROOTS[size]
    assert merkle.root_of([merkle.leaf_hash(d) for d in LEAVES[:size]]).hex() == ROOTS[size]


def test_appending_stores_the_published_subtree_hashes() -> None:
    assert {node: TREE.nodes[node].hex() for node in NODES} == NODES


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_inclusion_proofs_are_the_published_paths_and_check(index: int, size: int) -> None:
    path = TREE.inclusion(index, size)
    assert [p.hex() for p in path] == INCLUSION[(index, size)]
    root = bytes.fromhex(ROOTS[size])
    assert merkle.verify_inclusion(merkle.leaf_hash(LEAVES[index]), index, size, path, root)
    assert rfc9162.inclusion_ok(rfc9162.leaf(LEAVES[index]), index, size, path, root)


@pytest.mark.parametrize(("first", "second"), sorted(CONSISTENCY))
def test_consistency_proofs_are_the_published_ones_and_check(first: int, second: int) -> None:
    proof = TREE.consistency(first, second)
    assert [p.hex() for p in proof] == CONSISTENCY[(first, second)]
    assert merkle.verify_consistency(first, second, bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second]), proof)
    if first != second:
        assert rfc9162.consistency_ok(first, second, bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second]), proof)


def test_corrupted_inclusion_proofs_fail() -> None:
    index, size = 5, 8
    path, root, hashed = TREE.inclusion(index, size), bytes.fromhex(ROOTS[size]), merkle.leaf_hash(LEAVES[index])
    flipped = [bytes([path[0][0] ^ 8]) + path[0][1:], *path[1:]]
    for wrong in ((hashed, index - 1, size, path, root), (hashed, index + 1, size, path, root), (hashed, index ^ 2, size, path, root),
                  (hashed, index, size * 2, path, root), (hashed, index, size // 2, path, root),
                  (merkle.leaf_hash(b"WrongLeaf"), index, size, path, root), (hashed, index, size, path, merkle.EMPTY_ROOT),
                  (hashed, index, size, path[:-1], root), (hashed, index, size, [*path, root], root), (hashed, index, size, [root, *path], root),
                  (hashed, index, size, flipped, root), (hashed, index, size, [path[0], path[0], *path[1:]], root)):
        assert not merkle.verify_inclusion(*wrong)


def test_corrupted_consistency_proofs_fail() -> None:
    first, second = 6, 8
    proof, r1, r2 = TREE.consistency(first, second), bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
    flipped = [bytes([proof[0][0] ^ 16]) + proof[0][1:], *proof[1:]]
    for wrong in ((first - 1, second, r1, r2, proof), (first + 1, second, r1, r2, proof), (first ^ 2, second, r1, r2, proof),
                  (first, second * 2, r1, r2, proof), (first, second // 2, r1, r2, proof), (first, second, r2, r1, proof),
                  (first, second, r1, r1, proof), (first, second, r1, r2, []), (first, second, r1, r2, proof[:-1]),
                  (first, second, r1, r2, [*proof, r1]), (first, second, r1, r2, [r2, *proof]), (first, second, r1, r2, flipped)):
        assert not merkle.verify_consistency(*wrong)


def test_a_tree_does_not_prove_consistency_with_one_of_another_history() -> None:
    other = Stored([*LEAVES[:5], b"forged", *LEAVES[6:]])
    assert not merkle.verify_consistency(6, 8, other.root(6), TREE.root(8), TREE.consistency(6, 8))
    assert not merkle.verify_consistency(6, 8, TREE.root(6), other.root(8), other.consistency(6, 8))


@given(st.integers(1, 300), st.data())
def test_proofs_from_stored_subtrees_check_on_random_trees(size: int, data: st.DataObject) -> None:
    leaves = [i.to_bytes(4, "big") for i in range(size)]
    tree = Stored(leaves)
    index = data.draw(st.integers(0, size - 1))
    first = data.draw(st.integers(1, size))
    assert tree.root(size) == rfc9162.mth(leaves)
    assert rfc9162.inclusion_ok(rfc9162.leaf(leaves[index]), index, size, tree.inclusion(index, size), rfc9162.mth(leaves))
    proof = tree.consistency(first, size)
    if first < size:
        assert rfc9162.consistency_ok(first, size, rfc9162.mth(leaves[:first]), rfc9162.mth(leaves), proof)
    assert merkle.verify_consistency(first, size, tree.root(first), tree.root(size), proof)
    assert len(tree.inclusion(index, size)) <= size.bit_length()


def test_the_perfect_parts_of_a_range_are_aligned_and_cover_it() -> None:
    for start in range(0, 40):
        for end in range(start + 1, 70):
            parts = merkle.perfect_parts(start, end)
            covered = [(position << level, (position + 1) << level) for level, position in parts]
            assert covered[0][0] == start and covered[-1][1] == end
            assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))
