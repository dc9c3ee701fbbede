"""``verify`` of the Merkle tree: the stored events, the tree, its checkpoints and the snapshots, checked against each other.

Nothing stored is trusted: every leaf is recomputed from the stored events, in the log's
order, and the roots of those leaves are compared with

- every checkpoint the store holds (its root, and its signature when a key is given);
- the checkpoint the user kept from an earlier run (``kept``): the store must still hold at
  least as many events, and its first ``kept.size`` leaves must hash to ``kept.root``;

and the tree's stored leaves must be the recomputed ones, one for every stored event: an event
the tree lacks was recorded behind the ledger's back (or by a process that stopped before it grew
the tree). Leaves after the newest signed checkpoint are counted, not failed: a process signs at
most once a second as it writes, and on demand when asked. Each snapshot must hold the chain of its treaty's stored events up to its version.

What this finds, given a checkpoint kept before the tampering: any stored event changed,
deleted, swapped, inserted or appended, a treaty's tail cut, a chain rewritten to its head, a
treaty deleted, a forged snapshot (see ``docs/threat-model.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from treaty_ledger.domain.checkpoints import Checkpoint, NoteVerifier, open_checkpoint
from treaty_ledger.domain.errors import BadCheckpoint, LedgerError, SnapshotRejected
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.domain.merkle import node_hash, root_from_frontier
from treaty_ledger.domain.treaty import Treaty
from treaty_ledger.store.tree import LedgerTree, leaf_of
from treaty_ledger.store.tree import stored as stored_in_tree

__all__ = ["CompactRange", "TreeReport", "audit_tree"]


class CompactRange:
    """The right edge of a growing tree (one hash per bit of its size): appending is O(1) amortised, a root O(log n)."""

    def __init__(self) -> None:
        self.size = 0
        self._edge: list[tuple[int, bytes]] = []  # (level, hash), largest first

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append a leaf; the inner nodes it completes, ``(level, index, hash)``, lowest first."""
        level, hashed, index = 0, leaf, self.size
        completed = []
        while self._edge and self._edge[-1][0] == level:
            _, left = self._edge.pop()
            level, hashed = level + 1, node_hash(left, hashed)
            completed.append((level, index >> level, hashed))
        self._edge.append((level, hashed))
        self.size += 1
        return completed

    def root(self) -> bytes:
        """The root of the tree so far (RFC 9162's MTH; the empty tree's when there is no leaf)."""
        return root_from_frontier([hashed for _, hashed in self._edge])


def _leaf(event: object, slugs: dict[str, str]) -> tuple[str, int, bytes]:
    """The treaty, sequence and leaf hash of a stored ledger event (``slugs``: treaty slugs by aggregate id, filled by registrations)."""
    if isinstance(event, Treaty.Registered):
        slugs[str(event.originator_id)] = event.slug
    slug = slugs.get(str(getattr(event, "originator_id", "")))
    if slug is None:
        raise KeyError(str(getattr(event, "originator_id", "")))
    sequence, _, hashed = leaf_of(event, slug)
    return slug, sequence, hashed


@dataclass
class TreeReport:
    """What checking the tree found: ``ok``, the problems (first ones first), and what was compared."""

    leaves: int = 0
    checkpoints_checked: int = 0
    signatures_checked: int = 0
    snapshots_checked: int = 0
    unsigned: int = 0
    """Leaves after the newest checkpoint: recorded within the last second or so (the next write or read of a checkpoint signs them)."""
    latest_signed: Checkpoint | None = None
    latest_signed_note: str | None = None
    kept: Checkpoint | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, problem: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(problem)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "leaves": self.leaves, "checkpoints_checked": self.checkpoints_checked,
            "signatures_checked": self.signatures_checked, "snapshots_checked": self.snapshots_checked,
            "latest_signed_size": self.latest_signed.size if self.latest_signed else None,
            "kept_size": self.kept.size if self.kept else None, "unsigned_leaves": self.unsigned, "problems": list(self.problems),
        }


def _notifications(ledger: Ledger) -> Iterator[Any]:
    start: int | None = None
    while True:
        page = ledger.recorder.select_notifications(start=start, limit=1000, inclusive_of_start=False)
        if not page:
            return
        yield from page
        start = page[-1].id


def audit_tree(ledger: Ledger, tree: LedgerTree, *, verifier: NoteVerifier | None, kept: Checkpoint | None) -> TreeReport:
    """Check the stored events, the tree, its checkpoints and the snapshots against each other (see the module's text)."""
    report = TreeReport(kept=kept)
    try:
        _audit(report, ledger, tree, verifier, kept)
    except (ValueError, TypeError, KeyError, LedgerError) as error:  # a row no version of the ledger writes
        report.fail(f"the tree's tables hold a row the ledger never writes ({type(error).__name__}: {error}): they were altered")
    return report


def _audit(report: TreeReport, ledger: Ledger, tree: LedgerTree, verifier: NoteVerifier | None, kept: Checkpoint | None) -> None:
    stored_checkpoints = {c.size: c for c in _all_checkpoints(tree)}
    snapshot_heads = _snapshot_versions(ledger)
    chain_hashes: dict[tuple[str, int], str] = {}
    edge = CompactRange()
    slugs: dict[str, str] = {}
    roots: dict[int, bytes] = {}
    held = tree.size()
    stored = _StoredNodes(tree)
    for notification in _notifications(ledger):
        try:
            event = ledger.mapper.to_domain_event(notification)
            slug, sequence, hashed = _leaf(event, slugs)
        except KeyError as missing:
            report.fail(f"notification {notification.id}: an event of treaty {missing} whose registration is not in the store")
            continue
        except Exception as error:  # noqa: BLE001 - whatever fails to decode was altered
            report.fail(f"notification {notification.id}: the stored event does not decode ({error})")
            continue
        index = edge.size
        completed = edge.append(hashed)
        if index < held:
            leaf = stored.at(0, index)
            if leaf is None:
                report.fail(f"leaf {index} ({slug} event {sequence}) is missing from the tree's tables")
            elif leaf[0] != hashed or leaf[1:] != (slug, sequence, notification.id):
                report.fail(f"leaf {index} ({slug} event {sequence}): the stored event no longer hashes to the tree's leaf, "
                            "or the leaf names another event")
            for level, position, node in completed:
                found = stored.at(level, position)
                if found is None and not stored_in_tree(level, position, held):
                    continue  # the last block's inner nodes are stored when it is full (its leaves are checked)
                if found is None or found[0] != node:
                    report.fail(f"the tree's node ({level}, {position}) is {'missing' if found is None else 'not the hash of its leaves'}: "
                                "proofs through it would fail")
        key = (str(event.originator_id), event.originator_version)
        if key in snapshot_heads:
            chain_hashes[key] = str(getattr(event, "hash", ""))
        if edge.size in stored_checkpoints or (kept is not None and edge.size == kept.size):
            roots[edge.size] = edge.root()
    report.leaves = edge.size
    report.unsigned = held - (max(stored_checkpoints) if stored_checkpoints else 0)
    if held > edge.size:
        report.fail(f"the tree holds {held} leaves but the store only {edge.size} events: events were deleted")
    elif held < edge.size and (held or stored_checkpoints):
        report.fail(f"{edge.size - held} events after leaf {held} are not in the Merkle tree: recorded behind the ledger's back (or by a "
                    "process that stopped before it grew the tree: the API grows it when it next catches up)")
    _check_checkpoints(report, stored_checkpoints, roots, verifier, edge.size)
    if kept is not None:
        if edge.size < kept.size:
            report.fail(f"the store holds {edge.size} events, fewer than the {kept.size} of the checkpoint kept: events were deleted")
        elif roots.get(kept.size) != kept.root:
            report.fail(f"the store's first {kept.size} events no longer hash to the root of the checkpoint kept: "
                        "history before it was changed")
    _check_snapshots(report, ledger, snapshot_heads, chain_hashes)


def _all_checkpoints(tree: LedgerTree) -> list[Any]:
    found: list[Any] = []
    after = 0
    while True:
        page = tree.checkpoints(after=after, limit=1000)
        if not page:
            return found
        found.extend(page)
        after = page[-1].size


class _StoredNodes:
    """The tree's stored nodes, ``(hash, treaty, sequence, notification)`` by level and index, read a page of a level at a time
    as the walk reaches them (it reaches each level's nodes in order)."""

    _PAGE = 5000

    def __init__(self, tree: LedgerTree) -> None:
        self.tree = tree
        self.pages: dict[int, tuple[int, dict[int, tuple[Any, ...]]]] = {}  # level: (end, nodes)

    def at(self, level: int, index: int) -> tuple[Any, ...] | None:
        end, page = self.pages.get(level, (0, {}))
        if index >= end or index < end - self._PAGE:
            with self.tree.view.cursor(commit=False) as c:
                c.execute(self.tree.view.q("SELECT idx, hash, treaty, sequence, notification_id FROM {tl_tree_nodes} "
                                           "WHERE level = ? AND idx >= ? AND idx < ?"), (level, index, index + self._PAGE))
                page = {int(row["idx"]): (bytes(row["hash"]), row["treaty"], None if row["sequence"] is None else int(row["sequence"]),
                                          None if row["notification_id"] is None else int(row["notification_id"]))
                        for row in c.fetchall()}
            self.pages[level] = (index + self._PAGE, page)
        return page.get(index)


def _check_checkpoints(report: TreeReport, stored: dict[int, Any], roots: dict[int, bytes], verifier: NoteVerifier | None, size: int) -> None:
    for checkpoint_size in sorted(stored):
        issued = stored[checkpoint_size]
        report.checkpoints_checked += 1
        if checkpoint_size > size:
            report.fail(f"checkpoint {checkpoint_size} was issued for more events than the store holds ({size}): events were deleted")
            continue
        if roots.get(checkpoint_size) != issued.root:
            report.fail(f"checkpoint {checkpoint_size}: the store's first {checkpoint_size} events no longer hash to its root")
        if issued.note is None:
            continue
        if verifier is None:
            report.latest_signed_note = issued.note
            continue
        try:
            opened = open_checkpoint(issued.note, verifier)
        except BadCheckpoint as error:
            report.fail(f"checkpoint {checkpoint_size}: {error.reason}")
            continue
        report.signatures_checked += 1
        if (opened.size, opened.root) != (checkpoint_size, issued.root):
            report.fail(f"checkpoint {checkpoint_size}: its signed note says size {opened.size} and another root")
            continue
        report.latest_signed, report.latest_signed_note = opened, issued.note


def _snapshot_versions(ledger: Ledger) -> dict[tuple[str, int], Any]:
    """Every stored snapshot, by treaty aggregate id and version."""
    found: dict[tuple[str, int], Any] = {}
    if ledger.snapshots is None:
        return found
    for uuid in ledger.treaty_uuids():
        for snapshot in ledger.snapshots.recorder.select_events(uuid):
            found[(str(uuid), snapshot.originator_version)] = snapshot
    return found


def _check_snapshots(report: TreeReport, ledger: Ledger, snapshots: dict[tuple[str, int], Any], chain_hashes: dict[tuple[str, int], str]) -> None:
    for (uuid, version), stored in sorted(snapshots.items()):
        report.snapshots_checked += 1
        where = f"the snapshot of treaty {uuid} at version {version}"
        try:
            snapshot = ledger.mapper.to_domain_event(stored)
            treaty = snapshot.mutate(None) if isinstance(snapshot, Treaty.Snapshot) else None  # checks its records' chain
        except SnapshotRejected as error:
            report.fail(error.reason)
            continue
        except Exception as error:  # noqa: BLE001 - whatever fails to decode was altered
            report.fail(f"{where} does not decode ({error})")
            continue
        if not isinstance(treaty, Treaty) or chain_hashes.get((uuid, version)) != treaty.head:
            report.fail(f"{where} ends at a head that is not the stored event's at that version: it was forged")

