"""Proofs and audit receipts as the API and the command line give them (JSON), from the Merkle tree.

Hashes are standard base64, as in checkpoints. A leaf carries its *entry*: the event as
recorded (``GET /v1/treaties/{treaty}/events`` gives the same object), or the treaty's
registration; its leaf hash is ``SHA-256(0x00 || canonical JSON of the entry)``, the canonical
JSON being sorted keys, no spaces, UTF-8 (``json.dumps(entry, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)``). So a client recomputes every leaf from what it
was shown, and checks it against the signed checkpoint with RFC 9162's algorithms alone.

A receipt is an answer, the signed checkpoint it was computed at, and the leaf and inclusion
proof of every event the answer rests on: the events it names, and the treaty's registration
(its rules). ``treaty-ledger audit receipt`` checks one offline with the public key alone.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from treaty_ledger.domain.audit import cited_events
from treaty_ledger.domain.errors import EventNotFound, Unsigned
from treaty_ledger.domain.ledger import Ledger
from treaty_ledger.store.tree import InclusionProof, IssuedCheckpoint, Leaf, LedgerTree
from treaty_ledger.store.views import LedgerView

__all__ = ["b64", "checkpoint_json", "consistency_json", "inclusion_json", "receipt", "signed_checkpoint"]


def b64(value: bytes) -> str:
    """Standard base64, as checkpoints write hashes."""
    return base64.b64encode(value).decode()


def checkpoint_json(issued: IssuedCheckpoint, origin: str) -> dict[str, Any]:
    """A checkpoint as the API gives it: size, root hash, the signed note, when it was issued."""
    return {"origin": origin, "tree_size": issued.size, "root_hash": b64(issued.root), "note": issued.note,
            "issued_at": issued.issued_at.isoformat(timespec="microseconds")}


def signed_checkpoint(tree: LedgerTree, ledger: Ledger, size: int | None = None) -> IssuedCheckpoint:
    """The newest signed checkpoint (the tree caught up first), or the one of ``size``.

    :class:`~treaty_ledger.domain.errors.Unsigned` when it carries no signature: no signing key
    was configured when it was issued.
    """
    tree.catch_up(ledger)
    issued = tree.sign() if size is None else tree.checkpoint(size)
    if issued is None or issued.note is None:
        raise Unsigned("no signed checkpoint: the ledger runs without a signing key (create one with "
                       "`treaty-ledger keys signing create` and restart)", field="checkpoint")
    return issued


def entry_of(leaf: Leaf, ledger: Ledger, view: LedgerView) -> dict[str, Any]:
    """What ``leaf`` is: the event as recorded, or the treaty's registration (sequence 0)."""
    if leaf.sequence == 0:
        return ledger.treaty(leaf.treaty).registration_entry()
    record = view.record_by_id(leaf.event_id or "")
    if record is None:
        raise EventNotFound(f"no event {leaf.event_id!r} in the views", field="event")
    return record.to_json()


def inclusion_json(proof: InclusionProof, entry: Mapping[str, Any]) -> dict[str, Any]:
    """An inclusion proof as the API gives it, with the leaf's entry."""
    leaf = proof.leaf
    return {"event": leaf.event_id, "treaty": leaf.treaty, "sequence": leaf.sequence, "leaf_index": leaf.index,
            "tree_size": proof.size, "leaf_hash": b64(leaf.hash), "entry": dict(entry),
            "inclusion_path": [b64(h) for h in proof.path]}


def consistency_json(first: int, second: int, path: Sequence[bytes]) -> dict[str, Any]:
    """A consistency proof as the API gives it."""
    return {"first": first, "second": second, "consistency_path": [b64(h) for h in path]}


def receipt(answer: Mapping[str, Any], treaty: str, *, ledger: Ledger, view: LedgerView, tree: LedgerTree) -> dict[str, Any]:
    """``answer`` with its receipt: the signed checkpoint and the inclusion proof of every event it rests on (and the registration)."""
    issued = signed_checkpoint(tree, ledger)
    cited = cited_events(answer)
    held = view.records_by_id(cited)
    missing = next((event_id for event_id in cited if event_id not in held), None)
    if missing is not None:
        raise EventNotFound(f"no event {missing!r} in the views", field="event")
    records = [held[event_id] for event_id in cited]
    proofs = tree.inclusions(tree.leaves(treaty, [0, *(r.sequence for r in records)]), issued.size)
    entries = [ledger.treaty(treaty).registration_entry(), *(r.to_json() for r in records)]
    return {
        "answer": dict(answer),
        "receipt": {
            "checkpoint": checkpoint_json(issued, tree.origin),
            "leaves": [inclusion_json(proof, entry) for proof, entry in zip(proofs, entries, strict=True)],
        },
    }
