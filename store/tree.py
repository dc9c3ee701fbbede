"""The ledger's Merkle tree and its signed checkpoints, in the database that holds the events.

The tree follows the notification log, as the views do: new notifications become leaves (in
the log's order: the ledger's order of recording), in one ``INSERT``; the inner nodes of a block
of :data:`BLOCK` leaves (and those above it that its last leaf completes) are stored with that
last leaf, in one more. A write grows it in the views' transaction (:meth:`LedgerTree.append_with_views`:
one commit for both); :meth:`LedgerTree.catch_up` appends what that left (another process's
writes, a history recorded before the tree). Each leaf row names its notification, so the
tree stands at its last leaf's; the primary key ``(level, idx)`` is the compare-and-set: two
processes never append the same place (the second's transaction fails, and it reads the tree
again). A signed checkpoint of the new size is issued with a write at most once a second per
process, at the end of every catch-up, and on demand (:meth:`LedgerTree.sign`). Tables, which a
rebuild of the views never drops:

``tl_tree_nodes``       perfect subtrees ``(level, idx, hash)``: every leaf (level 0), each with what it is: its
                        treaty, sequence (0: the registration), event id, notification; every inner node
                        but those of the last block while it is not full (:func:`stored`).
``tl_tree_treaties``    each treaty's aggregate id and slug (recorded events name their treaty by id).
``tl_checkpoints``      every checkpoint issued: size, root hash, the signed note, when.

Appending a leaf stores that one row, but for a block's last leaf (once in :data:`BLOCK`), which
stores the block's ``BLOCK - 1`` inner nodes and the at most ``log2(n) - 4`` above it: a write
touches one page of the table where it touched one per level it completed. A proof reads at most
about ``log2(n)**2`` nodes by primary key, with the last block's leaves when it needs the hashes
of a part of it, in one query (:mod:`treaty_ledger.domain.merkle`). Stores written before the
blocks (every inner node stored at once) read the same; the last block's nodes they hold are
not written twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from treaty_ledger.domain.checkpoints import Checkpoint, NoteSigner
from treaty_ledger.domain.errors import EventNotFound, InvalidInput, NotInTree, TreeDamaged
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.domain.merkle import (
    Node,
    completed_nodes,
    consistency_ranges,
    frontier,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    perfect_parts,
    proof_hashes,
    root_from_frontier,
    root_of,
)
from treaty_ledger.domain.records import canonical_json_fast
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.store.views import LedgerView, stored_moment

__all__ = ["BLOCK", "CHECKPOINT_SECONDS", "Edge", "InclusionProof", "IssuedCheckpoint", "Leaf", "LedgerTree", "leaf_of", "stored"]

_PAGE = 1000
"""Notifications appended per transaction while the tree catches up."""

_BLOCK_LEVEL = 4
BLOCK = 1 << _BLOCK_LEVEL
"""Leaves per block: a block's inner nodes are stored with its last leaf (a write stores its leaf alone the other times)."""

CHECKPOINT_SECONDS = 1.0
"""A process signs a checkpoint with a write at most this often; one is signed on demand whenever a client asks for the
newest checkpoint, a proof at the newest size or a receipt after the tree grew (:meth:`LedgerTree.sign`)."""


def stored(level: int, index: int, size: int) -> bool:
    """Whether the tree of ``size`` leaves stores node ``(level, index)``: a leaf when it is in the tree, an inner node once the
    block its last leaf is in is full (a store written before the blocks may hold the last block's too)."""
    if level == 0:
        return index < size
    return ((((index + 1) << level) - 1) | (BLOCK - 1)) < size


@dataclass(frozen=True, slots=True)
class Edge:
    """The tree as this process last read or wrote it: its tracking position, size, the hashes of its right edge
    (``frontier(size)``, largest first) and the inner nodes of its last block (not full) that are not stored yet."""

    tracking: int | None
    size: int
    right: tuple[bytes, ...]
    pending: tuple[tuple[int, int, bytes], ...] = ()
    """``(level, index, hash)``: stored with the block's last leaf (a store written before the blocks may hold them already)."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """One leaf: its index, what it is, and its hash."""

    index: int
    treaty: str
    sequence: int
    event_id: str | None
    hash: bytes


@dataclass(frozen=True, slots=True)
class IssuedCheckpoint:
    """A checkpoint the ledger issued: size, root hash, the signed note (``None`` when no key was configured), when."""

    size: int
    root: bytes
    note: str | None
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 9162's inclusion proof of ``leaf`` in the tree of ``size`` leaves."""

    leaf: Leaf
    size: int
    path: list[bytes]


def leaf_of(event: object, slug: str) -> tuple[int, str | None, bytes]:
    """The sequence (0: the registration), event id and leaf hash of a stored ledger event of treaty ``slug``."""
    if isinstance(event, Treaty.EventRecorded):
        return event.sequence, event.event_id, leaf_hash(event.canonical(slug))
    if isinstance(event, Treaty.Registered):
        return 0, None, leaf_hash(canonical_json_fast(event.entry()))
    raise TypeError(f"the tree has no leaf for {type(event).__name__}")  # the ledger stores these two kinds only


def _grow(right: list[bytes], pending: list[tuple[int, int, bytes]], index: int, hashed: bytes) -> None:
    """Append leaf ``index`` (hash ``hashed``) to the right edge ``right`` of the tree of ``index`` leaves; the inner nodes it
    completes (:func:`~treaty_ledger.domain.merkle.completed_nodes`) go to ``pending``, lowest first."""
    for level, position in completed_nodes(index):  # each joins the edge's last node with the one just made
        hashed = node_hash(right.pop(), hashed)
        pending.append((level, position, hashed))
    right.append(hashed)


class LedgerTree:
    """The Merkle tree over the ledger: appended as events are recorded, read for proofs."""

    def __init__(self, view: LedgerView, *, origin: str, signer: NoteSigner | None) -> None:
        self.view = view
        self.origin = origin
        self.signer = signer
        self._slugs: dict[Any, str] = {}
        """Treaty slugs by aggregate id (as the mapper gives it: a UUID)."""
        self._lock = threading.Lock()
        self._edge: Edge | None = None
        self._inserts: dict[tuple[int, bool], str] = {}
        self._signed_at = -float("inf")
        self.checkpoint_seconds = CHECKPOINT_SECONDS
        """A write issues a signed checkpoint when this process has signed none for this long (and a catch-up always, at its end)."""

    # -- appending ---------------------------------------------------------------------------------

    @property
    def position(self) -> int | None:
        """The last notification this process knows the tree holds (``None`` until it has read or written the tree)."""
        return self._edge.tracking if self._edge is not None else None

    def forget(self) -> None:
        """Forget what this process holds of the tree's right edge (another process may have appended): read it again next time."""
        self._edge = None

    def catch_up(self, ledger: Ledger, *, progress: Callable[[int], None] | None = None) -> int:
        """Append every notification the tree does not hold yet; return how many leaves were appended."""
        appended = 0
        with self._lock:
            while True:
                edge = self._edge or self._read_edge()
                notifications = ledger.recorder.select_notifications(start=edge.tracking, limit=_PAGE, inclusive_of_start=False)
                if not notifications:
                    self._edge = edge
                    if appended:
                        self.sign()  # the last page was a full one: its checkpoint was not signed with it
                    return appended
                events = [(ledger.mapper.to_domain_event(n), n.id) for n in notifications]
                try:
                    with self.view.cursor(commit=True) as c:
                        grown = self.append(c, events, edge, sign=len(notifications) < _PAGE)
                except IntegrityError as error:
                    self._edge = self._read_edge()
                    if self._edge.tracking == edge.tracking:  # nobody else appended: the failure comes back every time
                        raise TreeDamaged(f"the Merkle tree cannot grow past notification {edge.tracking}: {error}; "
                                          "run treaty-ledger verify", field="tree") from error
                    continue  # another process appended these first: go on from where it stopped
                self._edge = grown
                appended += len(events)
                if progress is not None:
                    progress(len(events))
                if len(notifications) < _PAGE:
                    return appended

    def append_with_views(self, c: Any, items: Sequence[tuple[object, Tracking]], previous: int | None) -> Edge | None:
        """In the views' transaction ``c``, the leaves of ``items`` (the events after notification ``previous``), when the tree stands there.

        Returns the tree's new edge, to :meth:`committed` once the transaction has committed;
        ``None`` (nothing written) when this process does not know the tree to stand at
        ``previous``: :meth:`catch_up` then appends them. One transaction for the views and the
        tree: a write costs one commit, not two.
        """
        if not items:
            return None
        edge = self._edge
        if edge is None or edge.tracking != previous:
            edge = self._edge_in(c)  # another process grew it, or this one has not read it yet: as it stands now
            if edge.tracking != previous:
                return None
        return self.append(c, [(event, tracking.notification_id) for event, tracking in items], edge)

    def committed(self, edge: Edge) -> None:
        """The transaction that grew the tree to ``edge`` committed."""
        self._edge = edge

    def standing(self) -> Edge:
        """The tree as the store holds it now (read again)."""
        self._edge = self._read_edge()
        return self._edge

    def _read_edge(self) -> Edge:
        with self.view.cursor(commit=False) as c:
            return self._edge_in(c)

    def _edge_in(self, c: Any) -> Edge:
        c.execute(self.view.q("SELECT idx, notification_id FROM {tl_tree_nodes} WHERE level = 0 ORDER BY idx DESC LIMIT 1"))
        row = c.fetchone()
        size = 0 if row is None else int(row["idx"]) + 1
        start = size - size % BLOCK  # the last block's leaves, from which its inner nodes are computed
        parts = frontier(start)
        below = self._nodes(c, parts)
        c.execute(self.view.q("SELECT idx, hash FROM {tl_tree_nodes} WHERE level = 0 AND idx >= ? AND idx < ? ORDER BY idx"), (start, size))
        tail = [bytes(leaf["hash"]) for leaf in c.fetchall()]
        if len(tail) != size - start:
            raise TreeDamaged(f"the Merkle tree lacks leaves between {start} and {size}: its tables were altered; run treaty-ledger verify",
                              field="tree")
        right = [below[node] for node in parts]  # largest first
        pending: list[tuple[int, int, bytes]] = []
        for index, hashed in enumerate(tail, start):
            _grow(right, pending, index, hashed)
        return Edge(None if row is None else int(row["notification_id"]), size, tuple(right), tuple(pending))

    def append(self, c: Any, events: Sequence[tuple[object, int]], edge: Edge, *, sign: bool = False) -> Edge:
        """Append ``events`` (with their notification ids) to the tree at ``edge`` in transaction ``c``; the new edge.

        The leaves go in with one ``INSERT``, whose primary key fails the transaction
        (:class:`IntegrityError`) when another process appended meanwhile; the inner nodes of the
        blocks filled with another (one a store written before the blocks holds already is left
        as it is: ``verify`` checks it). A signed checkpoint
        of the new size is issued with it when ``sign``, or when this process signed none for
        :attr:`checkpoint_seconds`.
        """
        size = edge.size
        right, pending = list(edge.right), list(edge.pending)
        leaves: list[tuple[Any, ...]] = []
        inner: list[tuple[int, int, bytes]] = []  # the nodes of the blocks filled
        treaties: list[tuple[str, str]] = []
        for event, notification in events:
            originator = getattr(event, "originator_id", None)
            if isinstance(event, Treaty.Registered):
                slug = event.slug
                treaties.append((str(originator), slug))
                self._slugs[originator] = slug
            else:
                slug = self._slug(c, originator)
            sequence, event_id, hashed = leaf_of(event, slug)
            leaves.append((size, hashed, slug, sequence, event_id, notification))
            _grow(right, pending, size, hashed)
            size += 1
            if not size % BLOCK:  # the block is full: its inner nodes, and those its last leaf completes above it, go in with it
                inner += pending
                pending.clear()
        if treaties:
            c.executemany(self.view.q("INSERT INTO {tl_tree_treaties} VALUES (?, ?)"), treaties)
        for start in range(0, len(leaves), 500):  # one statement per 500 rows (a write's one: one round trip)
            chunk = leaves[start : start + 500]
            c.execute(self._insert_nodes(len(chunk), leaves=True), chunk[0] if len(chunk) == 1 else [value for row in chunk for value in row])
        for start in range(0, len(inner), 500):
            chunk = inner[start : start + 500]
            c.execute(self._insert_nodes(len(chunk), leaves=False), [value for row in chunk for value in row])
        grown = Edge(events[-1][1] if events else edge.tracking, size, tuple(right), tuple(pending))
        if sign or time.monotonic() - self._signed_at >= self.checkpoint_seconds:
            self._sign(c, grown)
        return grown

    def _insert_nodes(self, rows: int, *, leaves: bool) -> str:
        """The ``INSERT`` of ``rows`` leaves, or inner nodes (made once per count: a write's is the one of one leaf)."""
        statement = self._inserts.get((rows, leaves))
        if statement is None:
            if leaves:
                text = f"INSERT INTO {{tl_tree_nodes}} VALUES {', '.join(['(0, ?, ?, ?, ?, ?, ?)'] * rows)}"
            else:
                text = (f"INSERT INTO {{tl_tree_nodes}} (level, idx, hash) VALUES {', '.join(['(?, ?, ?)'] * rows)} "
                        "ON CONFLICT (level, idx) DO NOTHING")
            statement = self._inserts[(rows, leaves)] = self.view.q(text)
        return statement

    def _sign(self, c: Any, edge: Edge) -> None:
        """Issue the signed checkpoint of the tree at ``edge`` in transaction ``c`` (nothing without a signing key)."""
        if self.signer is None or edge.size == 0:
            return
        root = root_from_frontier(edge.right)
        note = Checkpoint(self.origin, edge.size, root).signed(self.signer)
        self.view.insist_on_durability(c)  # a checkpoint handed out is kept, whatever the write's rows may do
        c.execute(self.view.q("INSERT INTO {tl_checkpoints} VALUES (?, ?, ?, ?)"), (edge.size, root.hex(), note, self.view.stamp(datetime.now(UTC))))
        self._signed_at = time.monotonic()

    def sign(self) -> IssuedCheckpoint | None:
        """The newest checkpoint, signed now when the tree has grown since the last one (``None`` without a key, or before the first event)."""
        latest = self.latest()
        if self.signer is None:
            return latest
        edge = self._read_edge()
        if edge.size == 0 or (latest is not None and latest.size >= edge.size):
            return latest
        try:
            with self.view.cursor(commit=True) as c:
                self._sign(c, edge)
        except IntegrityError:
            pass  # another process signed this size first
        return self.latest()

    def _slug(self, c: Any, originator: Any) -> str:
        slug = self._slugs.get(originator)
        if slug is None:
            c.execute(self.view.q("SELECT treaty FROM {tl_tree_treaties} WHERE uuid = ?"), (str(originator),))
            row = c.fetchone()
            if row is None:  # a registration always comes before its treaty's events
                raise TreeDamaged(f"treaty {originator} has events but no registration in the Merkle tree; run treaty-ledger verify", field="tree")
            slug = self._slugs[originator] = str(row["treaty"])
        return slug

    # -- reading -----------------------------------------------------------------------------------

    def size(self) -> int:
        """How many leaves the tree holds."""
        with self.view.cursor(commit=False) as c:
            return self._size(c)

    def _size(self, c: Any) -> int:
        c.execute(self.view.q("SELECT COALESCE(MAX(idx) + 1, 0) AS size FROM {tl_tree_nodes} WHERE level = 0"))
        return int(c.fetchone()["size"])

    def _nodes(self, c: Any, wanted: Sequence[Node]) -> dict[Node, bytes]:
        """The hashes of ``wanted``; an inner node of the last block (not stored while it is not full) from its leaves,
        which the same query reads when ``wanted`` holds inner nodes below a block's level."""
        found: dict[Node, bytes] = {}
        # Only the highest block a wanted inner node is in can be the last one, not full (the blocks below a leaf are full).
        block = max(((index << level) >> _BLOCK_LEVEL for level, index in wanted if 0 < level < _BLOCK_LEVEL), default=None)
        first = 0 if block is None else block * BLOCK
        leaves: dict[int, bytes] = {}
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            conditions = ["(level = ? AND idx = ?)"] * len(chunk)
            params: list[int] = [value for node in chunk for value in node]
            if block is not None and start == 0:
                conditions.append("(level = 0 AND idx >= ? AND idx < ?)")
                params += [first, first + BLOCK]
            c.execute(self.view.q(f"SELECT level, idx, hash FROM {{tl_tree_nodes}} WHERE {' OR '.join(conditions)}"), params)
            for row in c.fetchall():
                node, hashed = (int(row["level"]), int(row["idx"])), bytes(row["hash"])
                found[node] = hashed
                if node[0] == 0 and first <= node[1] < first + BLOCK:
                    leaves[node[1]] = hashed
        missing = [node for node in wanted if node not in found]
        if missing and block is not None and len(leaves) < BLOCK:  # the last block, not full: its inner nodes are its leaves' hashes
            for level, index in missing:
                span = range(index << level, (index + 1) << level)
                if 0 < level < _BLOCK_LEVEL and span[0] >= first and all(i in leaves for i in span):
                    found[(level, index)] = root_of([leaves[i] for i in span])
            missing = [node for node in wanted if node not in found]
        if missing:
            raise TreeDamaged(f"the Merkle tree lacks nodes {missing[:3]} (level, index): its tables were altered; run treaty-ledger verify",
                              field="tree")
        return found

    def nodes(self, wanted: Sequence[Node]) -> Mapping[Node, bytes]:
        """The stored hashes of perfect subtrees ``wanted``."""
        with self.view.cursor(commit=False) as c:
            return self._nodes(c, wanted)

    def latest(self) -> IssuedCheckpoint | None:
        """The newest checkpoint issued (``None`` before the first event)."""
        return self._checkpoint("SELECT size, root, note, issued_at FROM {tl_checkpoints} ORDER BY size DESC LIMIT 1", ())

    def checkpoint(self, size: int) -> IssuedCheckpoint:
        """The checkpoint issued at tree size ``size``; :class:`NotInTree` when none was."""
        found = self._checkpoint("SELECT size, root, note, issued_at FROM {tl_checkpoints} WHERE size = ?", (size,))
        if found is None:
            raise NotInTree(f"no checkpoint was issued at tree size {size} (GET /v1/checkpoints lists those that were)", field="size")
        return found

    def checkpoints(self, *, after: int = 0, limit: int = 100) -> list[IssuedCheckpoint]:
        """Checkpoints issued, oldest first, from the first of size above ``after``."""
        with self.view.cursor(commit=False) as c:
            c.execute(self.view.q("SELECT size, root, note, issued_at FROM {tl_checkpoints} WHERE size > ? ORDER BY size LIMIT ?"), (after, limit))
            return [self._issued(row) for row in c.fetchall()]

    def _checkpoint(self, statement: str, params: Sequence[Any]) -> IssuedCheckpoint | None:
        with self.view.cursor(commit=False) as c:
            c.execute(self.view.q(statement), params)
            row = c.fetchone()
        return None if row is None else self._issued(row)

    @staticmethod
    def _issued(row: Any) -> IssuedCheckpoint:
        return IssuedCheckpoint(int(row["size"]), bytes.fromhex(row["root"]), row["note"], stored_moment(row["issued_at"]))

    def leaf(self, *, event_id: str | None = None, treaty: str | None = None, sequence: int | None = None) -> Leaf:
        """The leaf of event ``event_id``, or of ``treaty``'s event ``sequence`` (0: its registration)."""
        if event_id is not None:
            record = self.view.record_by_id(event_id)  # where the event is, from the views
            if record is None:
                raise EventNotFound(f"the tree holds no event {event_id!r}", field="event")
            treaty, sequence = record.treaty, record.sequence
        if treaty is None or sequence is None:
            raise InvalidInput("name an event: its id, or a treaty and a sequence (0 for the registration)", field="event")
        return self.leaves(treaty, [sequence])[0]

    def leaves(self, treaty: str, sequences: Sequence[int]) -> list[Leaf]:
        """The leaves of ``treaty``'s events ``sequences`` (0: its registration), in that order."""
        rows: dict[int, Any] = {}
        with self.view.cursor(commit=False) as c:
            for start in range(0, len(sequences), 500):
                chunk = list(sequences[start : start + 500])
                marks = ", ".join("?" for _ in chunk)
                c.execute(self.view.q(f"SELECT idx, treaty, sequence, event_id, hash FROM {{tl_tree_nodes}} "
                                      f"WHERE treaty = ? AND sequence IN ({marks}) AND level = 0"), [treaty, *chunk])
                rows.update((int(row["sequence"]), row) for row in c.fetchall())
        missing = [sequence for sequence in sequences if sequence not in rows]
        if missing:
            what = "registration" if missing[0] == 0 else f"event {missing[0]}"
            raise EventNotFound(f"the tree holds no {what} of treaty {treaty!r}", field="sequence")
        return [Leaf(int(row["idx"]), str(row["treaty"]), int(row["sequence"]), row["event_id"], bytes(row["hash"]))
                for row in (rows[sequence] for sequence in sequences)]

    def inclusions(self, leaves: Sequence[Leaf], size: int) -> list[InclusionProof]:
        """The inclusion proofs of ``leaves`` in the tree of ``size`` leaves (their nodes read together)."""
        self._within(size)
        late = next((leaf for leaf in leaves if leaf.index >= size), None)
        if late is not None:
            raise NotInTree(f"event {late.event_id or late.sequence} is leaf {late.index}: not in the tree of {size} leaves", field="size")
        ranges = [inclusion_ranges(leaf.index, size) for leaf in leaves]
        wanted = sorted({node for each in ranges for start, end in each for node in perfect_parts(start, end)})
        nodes = self.nodes(wanted)
        return [InclusionProof(leaf, size, proof_hashes(each, lambda _: nodes)) for leaf, each in zip(leaves, ranges, strict=True)]

    def inclusion(self, leaf: Leaf, size: int) -> InclusionProof:
        """The inclusion proof of ``leaf`` in the tree of ``size`` leaves."""
        self._within(size)
        if leaf.index >= size:
            raise NotInTree(f"the event is leaf {leaf.index}: it is not in the tree of {size} leaves (it came later)", field="size")
        return InclusionProof(leaf, size, proof_hashes(inclusion_ranges(leaf.index, size), self.nodes))

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The consistency proof from the tree of ``first`` leaves to that of ``second``."""
        if first < 1 or first > second:
            raise InvalidInput(f"a consistency proof goes from a smaller tree to a larger one, 1 <= first <= second; got {first} and {second}",
                               field="first")
        self._within(second)
        return proof_hashes(consistency_ranges(first, second), self.nodes)

    def _within(self, size: int) -> None:
        if size < 1:
            raise InvalidInput(f"a tree size is 1 or more; got {size}", field="size")
        held = self.size()
        if size > held:
            raise NotInTree(f"the tree holds {held} leaves, fewer than {size}", field="size")
