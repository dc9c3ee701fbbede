"""The Merkle tree over the ledger, as RFC 9162 (Certificate Transparency 2.0) defines it, section 2.1.

Every recorded event, the treaties' registrations included, is a leaf, in the ledger's order
of recording. Hashes are SHA-256: a leaf's is ``SHA-256(0x00 || data)``, an inner node's
``SHA-256(0x01 || left || right)``, and the tree of ``n`` leaves splits at the largest power
of two below ``n``. Proof paths are RFC 9162's ``PATH`` (inclusion) and ``PROOF``
(consistency), so any RFC 9162 verifier checks them; :func:`verify_inclusion` and
:func:`verify_consistency` are the RFC's own verification algorithms (sections 2.1.3.2 and
2.1.4.2), which ``treaty-ledger audit`` runs offline.

The store keeps every *perfect* subtree: node ``(level, index)`` covers leaves
``index * 2**level`` to ``(index + 1) * 2**level``. Appending a leaf adds at most
``log2(n)`` of them (:func:`completed_nodes`), and the hash of any range a proof needs is a
fold of at most ``log2(n)`` stored nodes (:func:`perfect_parts`, :func:`fold_parts`): a
proof costs a handful of lookups, never a pass over the history. The functions here say
which nodes are needed; the store fetches them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "EMPTY_ROOT",
    "Node",
    "completed_nodes",
    "consistency_ranges",
    "fold_parts",
    "frontier",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_parts",
    "proof_hashes",
    "root_from_frontier",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

Node = tuple[int, int]
"""A perfect subtree: ``(level, index)``, covering leaves ``index << level`` up to ``(index + 1) << level``."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root hash of the empty tree: the SHA-256 of nothing."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the leaf hashes ``leaves``, by the RFC's recursion (for checks and tests: O(n))."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


# -- the stored nodes -----------------------------------------------------------------------------


def completed_nodes(index: int) -> list[Node]:
    """The perfect subtrees above leaf ``index`` that appending it completes, lowest first.

    Leaf ``index`` is node ``(0, index)``; it completes ``(1, index // 2)`` when it is a
    right child, and so on up while each new node is a right child.
    """
    nodes = []
    level, position = 0, index
    while position & 1:
        level, position = level + 1, position >> 1
        nodes.append((level, position))
    return nodes


def perfect_parts(start: int, end: int) -> list[Node]:
    """The perfect subtrees that cover leaves ``start`` to ``end``, left to right, each as large as its place allows."""
    parts = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def frontier(size: int) -> list[Node]:
    """The perfect subtrees of a tree of ``size`` leaves, left to right (its right edge: one per bit of ``size``)."""
    return perfect_parts(0, size)


def fold_parts(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its :func:`perfect_parts` (the RFC's split is exactly this right fold)."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def root_from_frontier(hashes: Sequence[bytes]) -> bytes:
    """The root hash of a tree from the hashes of its :func:`frontier` (the empty tree's when there are none)."""
    return fold_parts(hashes) if hashes else EMPTY_ROOT


# -- proofs: which ranges' hashes ------------------------------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162's PATH(index, D[size]) as leaf ranges ``(start, end)``, the one nearest the leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m = start + k, m - k
    return ranges[::-1]


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """RFC 9162's PROOF(first, D[second]) as leaf ranges, in the order the proof lists them.

    Empty when ``first`` equals ``second``; ``0 < first <= second`` otherwise.
    """
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second} leaves (0 < first <= second)")
    ranges: list[tuple[int, int]] = []
    start, end, m, whole = 0, second, first, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        ranges.append((start, end))
    return ranges[::-1]


def proof_hashes(ranges: Sequence[tuple[int, int]], lookup: Callable[[Sequence[Node]], Mapping[Node, bytes]]) -> list[bytes]:
    """The hashes of ``ranges``, from the stored perfect subtrees ``lookup`` returns (one call for all)."""
    parts = [perfect_parts(start, end) for start, end in ranges]
    nodes = lookup(sorted({node for each in parts for node in each}))
    return [fold_parts([nodes[node] for node in each]) for each in parts]


# -- verification (RFC 9162, sections 2.1.3.2 and 2.1.4.2) ------------------------------------------


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """Whether ``path`` proves leaf hash ``leaf`` is leaf ``index`` of the tree of ``size`` leaves with root ``root``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]) -> bool:
    """Whether ``path`` proves the tree of ``first`` leaves (root ``first_root``) is a prefix of the tree of ``second``."""
    if first == second:
        return not path and first_root == second_root
    if not 0 < first < second or not path:
        return False
    proof = list(path)
    if first & (first - 1) == 0:  # a power of two: the first tree's root is the proof's implied first element
        proof.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
