"""The ledger's Merkle tree and its signed checkpoints, in the database that holds the events.

The tree follows the notification log, as the views do: new notifications become leaves (in
the log's order: the ledger's order of recording) and their completed perfect subtrees, in one
``INSERT``. A write grows it in the views' transaction (:meth:`LedgerTree.append_with_views`:
one commit for both); :meth:`LedgerTree.catch_up` appends what that left (another process's
writes, a history recorded before the tree). Each leaf row names its notification, so the
tree stands at its last leaf's; the primary key ``(level, idx)`` is the compare-and-set: two
processes never append the same place (the second's transaction fails, and it reads the tree
again). A signed checkpoint of the new size is issued with a write at most once a second per
process, at the end of every catch-up, and on demand (:meth:`LedgerTree.sign`). Tables, which a
rebuild of the views never drops:

``tl_tree_nodes``       every perfect subtree ``(level, idx, hash)``; level 0 holds the leaves, each with
                        what it is: its treaty, sequence (0: the registration), event id, notification.
``tl_tree_treaties``    each treaty's aggregate id and slug (recorded events name their treaty by id).
``tl_checkpoints``      every checkpoint issued: size, root hash, the signed note, when.

Appending a leaf stores it and at most ``log2(n)`` nodes; a proof reads at most about
``log2(n)**2`` nodes by primary key, in one query (:mod:`treaty_ledger.domain.merkle`).
"""

from __future__ import annotations

import threading
import time
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

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
)
from treaty_ledger.domain.records import canonical_json_fast
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.store.views import LedgerView, stored_moment

__all__ = ["CHECKPOINT_SECONDS", "Edge", "InclusionProof", "IssuedCheckpoint", "Leaf", "LedgerTree", "leaf_of"]

_PAGE = 1000
"""Notifications appended per transaction while the tree catches up."""

CHECKPOINT_SECONDS = 1.0
"""A process signs a checkpoint with a write at most this often; one is signed on demand whenever a client asks for the
newest checkpoint, a proof at the newest size or a receipt after the tree grew (:meth:`LedgerTree.sign`)."""


@dataclass(frozen=True, slots=True)
class Edge:
    """The tree as this process last read or wrote it: its tracking position, size, and the hashes of its right edge (``frontier(size)``)."""

    tracking: int | None
    size: int
    nodes: Mapping[Node, bytes]


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
    if isinstance(event, Treaty.Registered):
        return 0, None, leaf_hash(canonical_json_fast(event.entry()))
    if isinstance(event, Treaty.EventRecorded):
        return event.sequence, event.event_id, leaf_hash(event.to_record(slug).canonical())
    raise TypeError(f"the tree has no leaf for {type(event).__name__}")  # the ledger stores these two kinds only


class LedgerTree:
    """The Merkle tree over the ledger: appended as events are recorded, read for proofs."""

    def __init__(self, view: LedgerView, *, origin: str, signer: NoteSigner | None) -> None:
        self.view = view
        self.origin = origin
        self.signer = signer
        self._slugs: dict[str, str] = {}
        self._lock = threading.Lock()
        self._edge: Edge | None = None
        self._inserts: dict[int, str] = {}
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
        return Edge(None if row is None else int(row["notification_id"]), size, self._nodes(c, frontier(size)))

    def append(self, c: Any, events: Sequence[tuple[object, int]], edge: Edge, *, sign: bool = False) -> Edge:
        """Append ``events`` (with their notification ids) to the tree at ``edge`` in transaction ``c``; the new edge.

        The rows go in with one ``INSERT``, whose primary key fails the transaction
        (:class:`IntegrityError`) when another process appended meanwhile. A signed checkpoint
        of the new size is issued with it when ``sign``, or when this process signed none for
        :attr:`checkpoint_seconds`.
        """
        size = edge.size
        nodes: ChainMap[Node, bytes] = ChainMap({}, cast("MutableMapping[Node, bytes]", edge.nodes))  # new nodes go in the first map only
        new_nodes: list[tuple[Any, ...]] = []
        treaties: list[tuple[str, str]] = []
        for event, notification in events:
            if isinstance(event, Treaty.Registered):
                slug = event.slug
                treaties.append((str(event.originator_id), slug))
                self._slugs[str(event.originator_id)] = slug
            else:
                slug = self._slug(c, str(getattr(event, "originator_id", "")))
            sequence, event_id, hashed = leaf_of(event, slug)
            index = size
            nodes[(0, index)] = hashed
            new_nodes.append((0, index, hashed, slug, sequence, event_id, notification))
            for level, position in completed_nodes(index):
                parent = node_hash(nodes[(level - 1, 2 * position)], nodes[(level - 1, 2 * position + 1)])
                nodes[(level, position)] = parent
                new_nodes.append((level, position, parent, None, None, None, None))
            size += 1
        if treaties:
            c.executemany(self.view.q("INSERT INTO {tl_tree_treaties} VALUES (?, ?)"), treaties)
        for start in range(0, len(new_nodes), 500):  # one statement per 500 rows (a write's one or two: one round trip)
            chunk = new_nodes[start : start + 500]
            c.execute(self._insert_nodes(len(chunk)), [value for row in chunk for value in row])
        grown = Edge(events[-1][1] if events else edge.tracking, size, {node: nodes[node] for node in frontier(size)})
        if sign or time.monotonic() - self._signed_at >= self.checkpoint_seconds:
            self._sign(c, grown)
        return grown

    def _insert_nodes(self, rows: int) -> str:
        """The ``INSERT`` of ``rows`` nodes (made once per count: a write's is one of two or three)."""
        statement = self._inserts.get(rows)
        if statement is None:
            statement = self._inserts[rows] = self.view.q(f"INSERT INTO {{tl_tree_nodes}} VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?)'] * rows)}")
        return statement

    def _sign(self, c: Any, edge: Edge) -> None:
        """Issue the signed checkpoint of the tree at ``edge`` in transaction ``c`` (nothing without a signing key)."""
        if self.signer is None or edge.size == 0:
            return
        root = root_from_frontier(list(edge.nodes.values()))
        note = Checkpoint(self.origin, edge.size, root).signed(self.signer)
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

    def _slug(self, c: Any, originator: str) -> str:
        slug = self._slugs.get(originator)
        if slug is None:
            c.execute(self.view.q("SELECT treaty FROM {tl_tree_treaties} WHERE uuid = ?"), (originator,))
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
        found: dict[Node, bytes] = {}
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            if not chunk:
                break
            condition = " OR ".join("(level = ? AND idx = ?)" for _ in chunk)
            c.execute(self.view.q(f"SELECT level, idx, hash FROM {{tl_tree_nodes}} WHERE {condition}"),
                      [value for node in chunk for value in node])
            for row in c.fetchall():
                found[(int(row["level"]), int(row["idx"]))] = bytes(row["hash"])
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
