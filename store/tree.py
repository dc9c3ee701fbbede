"""The ledger's Merkle tree and its signed checkpoints, in the database that holds the events.

The tree follows the notification log, as the views do, with a tracking record of its own
(``merkle_tree``): each page of new notifications becomes leaves (in the log's order: the
ledger's order of recording), their completed perfect subtrees, and one checkpoint of the
new size, signed when a signing key is configured, all in one transaction whose first
statement moves the tracking record (a compare-and-set: two processes never append the same
events). Tables, which a rebuild of the views never drops:

``tl_tree_nodes``       every perfect subtree ``(level, idx, hash)``; level 0 holds the leaves.
``tl_tree_leaves``      what each leaf is: its treaty, sequence (0: the registration) and event id.
``tl_tree_treaties``    each treaty's aggregate id and slug (recorded events name their treaty by id).
``tl_checkpoints``      every checkpoint issued: size, root hash, the signed note, when.

Appending a leaf stores it and at most ``log2(n)`` nodes; a proof reads at most about
``log2(n)**2`` nodes by primary key, in one query (:mod:`treaty_ledger.domain.merkle`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from treaty_ledger.domain.checkpoints import Checkpoint, NoteSigner
from treaty_ledger.domain.errors import EventNotFound, InvalidInput, NotInTree
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
from treaty_ledger.domain.records import canonical_json
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.store.views import LedgerView, stored_moment

__all__ = ["TREE_APPLICATION", "InclusionProof", "IssuedCheckpoint", "Leaf", "LedgerTree"]

TREE_APPLICATION = "merkle_tree"
"""The tree's tracking record, beside the views' (``application_name`` in the tracking table)."""

_PAGE = 1000
"""Notifications appended per transaction (and per checkpoint) while the tree catches up."""


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


class LedgerTree:
    """The Merkle tree over the ledger: appended as events are recorded, read for proofs."""

    def __init__(self, view: LedgerView, *, origin: str, signer: NoteSigner | None) -> None:
        self.view = view
        self.origin = origin
        self.signer = signer
        self._slugs: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- appending ---------------------------------------------------------------------------------

    def catch_up(self, ledger: Ledger, *, progress: Callable[[int], None] | None = None) -> int:
        """Append every notification the tree does not hold yet; return how many leaves were appended."""
        appended = 0
        with self._lock:
            while True:
                previous = self.view.max_tracking_id(TREE_APPLICATION)
                notifications = ledger.recorder.select_notifications(start=previous, limit=_PAGE, inclusive_of_start=False)
                if not notifications:
                    return appended
                events = [ledger.mapper.to_domain_event(n) for n in notifications]
                try:
                    with self.view.cursor(commit=True) as c:
                        self.view.write_tracking(c, Tracking(TREE_APPLICATION, notifications[-1].id), previous)
                        self._append(c, events)
                except IntegrityError:
                    continue  # another process appended these first: go on from where it stopped
                appended += len(events)
                if progress is not None:
                    progress(len(events))

    def _append(self, c: Any, events: Sequence[object]) -> None:
        size = self._size(c)
        edge = frontier(size)
        nodes = self._nodes(c, edge)
        leaves: list[tuple[Any, ...]] = []
        new_nodes: list[tuple[int, int, str]] = []
        treaties: list[tuple[str, str]] = []
        for event in events:
            if isinstance(event, Treaty.Registered):
                slug = event.slug
                treaties.append((str(event.originator_id), slug))
                self._slugs[str(event.originator_id)] = slug
                entry, sequence, event_id = event.entry(), 0, None
            elif isinstance(event, Treaty.EventRecorded):
                slug = self._slug(c, str(event.originator_id))
                entry, sequence, event_id = event.to_record(slug).to_json(), event.sequence, event.event_id
            else:  # pragma: no cover - the ledger stores these two kinds only
                raise TypeError(f"the tree has no leaf for {type(event).__name__}")
            index = size
            hashed = leaf_hash(canonical_json(entry))
            nodes[(0, index)] = hashed
            leaves.append((index, slug, sequence, event_id))
            new_nodes.append((0, index, hashed.hex()))
            for level, position in completed_nodes(index):
                parent = node_hash(nodes[(level - 1, 2 * position)], nodes[(level - 1, 2 * position + 1)])
                nodes[(level, position)] = parent
                new_nodes.append((level, position, parent.hex()))
            size += 1
        if treaties:
            c.executemany(self.view.q("INSERT INTO {tl_tree_treaties} VALUES (?, ?)"), treaties)
        c.executemany(self.view.q("INSERT INTO {tl_tree_leaves} VALUES (?, ?, ?, ?)"), leaves)
        c.executemany(self.view.q("INSERT INTO {tl_tree_nodes} VALUES (?, ?, ?)"), new_nodes)
        root = root_from_frontier([nodes[node] for node in frontier(size)])
        checkpoint = Checkpoint(self.origin, size, root)
        note = checkpoint.signed(self.signer) if self.signer is not None else None
        c.execute(self.view.q("INSERT INTO {tl_checkpoints} VALUES (?, ?, ?, ?)"),
                  (size, root.hex(), note, self.view.stamp(datetime.now(UTC))))

    def _slug(self, c: Any, originator: str) -> str:
        slug = self._slugs.get(originator)
        if slug is None:
            c.execute(self.view.q("SELECT treaty FROM {tl_tree_treaties} WHERE uuid = ?"), (originator,))
            row = c.fetchone()
            if row is None:  # pragma: no cover - a registration always comes before its treaty's events
                raise IntegrityError(f"treaty {originator} has events but no registration in the tree")
            slug = self._slugs[originator] = str(row["treaty"])
        return slug

    # -- reading -----------------------------------------------------------------------------------

    def size(self) -> int:
        """How many leaves the tree holds."""
        with self.view.cursor(commit=False) as c:
            return self._size(c)

    def _size(self, c: Any) -> int:
        c.execute(self.view.q("SELECT COALESCE(MAX(idx) + 1, 0) AS size FROM {tl_tree_leaves}"))
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
                found[(int(row["level"]), int(row["idx"]))] = bytes.fromhex(row["hash"])
        missing = [node for node in wanted if node not in found]
        if missing:
            raise IntegrityError(f"the tree lacks nodes {missing[:3]}: its tables were altered")
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
        with self.view.cursor(commit=False) as c:
            if event_id is not None:
                c.execute(self.view.q("SELECT idx, treaty, sequence, event_id FROM {tl_tree_leaves} WHERE event_id = ?"), (event_id,))
            elif treaty is not None and sequence is not None:
                c.execute(self.view.q("SELECT idx, treaty, sequence, event_id FROM {tl_tree_leaves} WHERE treaty = ? AND sequence = ?"),
                          (treaty, sequence))
            else:
                raise InvalidInput("name an event: its id, or a treaty and a sequence (0 for the registration)", field="event")
            row = c.fetchone()
            if row is None:
                what = f"event {event_id!r}" if event_id is not None else f"event {sequence} of treaty {treaty!r}"
                raise EventNotFound(f"the tree holds no {what}", field="event" if event_id is not None else "sequence")
            index = int(row["idx"])
            hashed = self._nodes(c, [(0, index)])[(0, index)]
        return Leaf(index, str(row["treaty"]), int(row["sequence"]), row["event_id"], hashed)

    def leaves(self, event_ids: Sequence[str], *, treaty: str | None = None) -> list[Leaf]:
        """The leaves of ``event_ids`` (and of ``treaty``'s registration, first, when given), in that order."""
        rows: dict[str, Any] = {}
        with self.view.cursor(commit=False) as c:
            for start in range(0, len(event_ids), 500):
                chunk = event_ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                c.execute(self.view.q(f"SELECT idx, treaty, sequence, event_id FROM {{tl_tree_leaves}} WHERE event_id IN ({marks})"), list(chunk))
                rows.update((str(row["event_id"]), row) for row in c.fetchall())
            missing = [event_id for event_id in event_ids if event_id not in rows]
            if missing:
                raise EventNotFound(f"the tree holds no event {missing[0]!r}", field="event")
            found = [rows[event_id] for event_id in event_ids]
            if treaty is not None:
                c.execute(self.view.q("SELECT idx, treaty, sequence, event_id FROM {tl_tree_leaves} WHERE treaty = ? AND sequence = 0"), (treaty,))
                registration = c.fetchone()
                if registration is None:
                    raise EventNotFound(f"the tree holds no registration of treaty {treaty!r}", field="treaty")
                found.insert(0, registration)
            hashes = self._nodes(c, [(0, int(row["idx"])) for row in found])
        return [Leaf(int(row["idx"]), str(row["treaty"]), int(row["sequence"]), row["event_id"], hashes[(0, int(row["idx"]))]) for row in found]

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
