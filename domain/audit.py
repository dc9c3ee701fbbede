"""Offline audits, with the log's public key and nothing else: a receipt, an exported history, two checkpoints.

These read the JSON the API and ``treaty-ledger export --proofs`` give, recompute every leaf
from the entries shown (``SHA-256(0x00 || canonical JSON)``), and check them against a signed
checkpoint with RFC 9162's algorithms (:mod:`treaty_ledger.domain.merkle`). ``treaty-ledger
audit`` runs them; no database is opened.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from treaty_ledger.domain.checkpoints import Checkpoint, NoteVerifier, open_checkpoint
from treaty_ledger.domain.errors import BadCheckpoint, ProofFailed
from treaty_ledger.domain.merkle import leaf_hash, verify_consistency, verify_inclusion
from treaty_ledger.domain.records import GENESIS_HASH, Record, canonical_json, chain_hash

__all__ = ["Audit", "audit_consistency", "audit_export", "audit_receipt", "cited_events", "entry_leaf"]


@dataclass
class Audit:
    """What an offline audit found: ``ok`` when ``problems`` is empty; the checkpoint it checked against; how many leaves."""

    checkpoint: Checkpoint
    leaves: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "tree_size": self.checkpoint.size, "origin": self.checkpoint.origin, "leaves_checked": self.leaves,
                "problems": list(self.problems)}


def entry_leaf(entry: Mapping[str, Any]) -> bytes:
    """The leaf hash of an entry: SHA-256 of 0x00 and the entry's canonical JSON."""
    return leaf_hash(canonical_json(entry))


def cited_events(answer: Mapping[str, Any]) -> list[str]:
    """The ids of the events an answer names, in order, each once.

    Every answer lists them in ``events`` (ids, or for changes events with their ``id``); an
    event answered alone is itself, its retraction and its corrections.
    """
    ids: list[str] = []
    if "sequence" in answer and "id" in answer:
        ids.append(str(answer["id"]))
        ids.extend(str(i) for i in [answer.get("retracted_by"), *answer.get("corrected_by", [])] if i)
    for item in answer.get("events", []):
        ids.append(str(item["id"]) if isinstance(item, Mapping) else str(item))
    return list(dict.fromkeys(ids))


def _hashes(values: Any, where: str) -> list[bytes]:
    if not isinstance(values, list):
        raise ProofFailed(f"{where} is not a list of base64 hashes", field=where)
    try:
        return [base64.b64decode(str(v), validate=True) for v in values]
    except (binascii.Error, ValueError):
        raise ProofFailed(f"{where} holds a hash that is not base64", field=where) from None


def _opened(checkpoint: Any, verifier: NoteVerifier, where: str) -> Checkpoint:
    note = checkpoint.get("note") if isinstance(checkpoint, Mapping) else checkpoint
    if not isinstance(note, str):
        raise BadCheckpoint(f"{where} carries no signed note", field=where)
    return open_checkpoint(note, verifier)


def _included(audit: Audit, entry: Mapping[str, Any], index: Any, path: Any, what: str) -> None:
    audit.leaves += 1
    if not isinstance(index, int) or not verify_inclusion(entry_leaf(entry), index, audit.checkpoint.size,
                                                          _hashes(path, f"{what}.inclusion_path"), audit.checkpoint.root):
        audit.problems.append(f"{what}: not in the tree of the checkpoint (size {audit.checkpoint.size}): it was altered, or never recorded")


def audit_receipt(body: Mapping[str, Any], verifier: NoteVerifier) -> Audit:
    """Check an answer's receipt (``GET .../receipt``): the signature, every leaf's inclusion, and that the leaves are the events the answer names."""
    answer, receipt = body.get("answer"), body.get("receipt")
    if not isinstance(answer, Mapping) or not isinstance(receipt, Mapping):
        raise ProofFailed("a receipt is {\"answer\": ..., \"receipt\": {\"checkpoint\": ..., \"leaves\": [...]}}", field="receipt")
    audit = Audit(_opened(receipt.get("checkpoint"), verifier, "receipt.checkpoint"))
    leaves = receipt.get("leaves")
    if not isinstance(leaves, list):
        raise ProofFailed("the receipt lists no leaves", field="receipt.leaves")
    proven: set[str] = set()
    registration = False
    for number, leaf in enumerate(leaves):
        what = f"receipt.leaves[{number}]"
        entry = leaf.get("entry") if isinstance(leaf, Mapping) else None
        if not isinstance(entry, Mapping):
            audit.problems.append(f"{what}: no entry")
            continue
        _included(audit, entry, leaf.get("leaf_index"), leaf.get("inclusion_path"), what)
        if entry.get("treaty") != answer.get("treaty"):
            audit.problems.append(f"{what}: an entry of treaty {entry.get('treaty')!r}, not of {answer.get('treaty')!r}")
        if entry.get("sequence") == 0:
            registration = True
        elif isinstance(entry.get("id"), str):
            proven.add(str(entry["id"]))
    unproven = [event for event in cited_events(answer) if event not in proven]
    if unproven:
        audit.problems.append(f"the answer names {len(unproven)} events the receipt does not prove, {unproven[0]} first")
    if not registration:
        audit.problems.append("the receipt does not prove the treaty's registration (its rules)")
    return audit


def audit_export(lines: Sequence[Mapping[str, Any]], verifier: NoteVerifier, *, kept: Checkpoint | None = None) -> Audit:
    """Check an export made with ``--proofs``: the hash chain, and each event's inclusion in the signed checkpoint it carries.

    With ``kept`` (a checkpoint kept earlier), the export's checkpoint must be that one: make
    the export with ``--tree-size`` of the kept checkpoint's size.
    """
    if not lines or lines[0].get("kind") != "treaty" or lines[-1].get("kind") != "proofs":
        raise ProofFailed("an export to audit starts with its treaty line and ends with its proofs (export --proofs)", field="export")
    treaty, proofs, events = lines[0], lines[-1], list(lines[1:-1])
    audit = Audit(_opened(proofs.get("checkpoint"), verifier, "proofs.checkpoint"))
    if kept is not None and (kept.size, kept.root) != (audit.checkpoint.size, audit.checkpoint.root):
        audit.problems.append(f"the export carries checkpoint {audit.checkpoint.size}, not the one kept ({kept.size}): "
                              f"export it again with --tree-size {kept.size}")
        return audit
    registration = treaty.get("registration")
    if not isinstance(registration, Mapping):
        raise ProofFailed("the treaty line carries no registration", field="export.registration")
    paths = {leaf.get("sequence"): leaf for leaf in proofs.get("leaves", []) if isinstance(leaf, Mapping)}
    previous = str(registration.get("hash"))
    for sequence, entry in enumerate([registration, *events]):
        what = "the registration" if sequence == 0 else f"event {sequence}"
        if sequence and (entry.get("sequence") != sequence or entry.get("prev_hash") != previous or _chain_hash(entry) != entry.get("hash")):
            audit.problems.append(f"{what}: its hash or its link to the event before does not hold")
        if sequence == 0 and (entry.get("prev_hash") != GENESIS_HASH):
            audit.problems.append("the registration does not start the chain")
        leaf = paths.pop(sequence, None)
        if leaf is None:
            audit.problems.append(f"{what}: the export carries no proof of it")
            continue
        _included(audit, entry, leaf.get("leaf_index"), leaf.get("inclusion_path"), what)
        previous = str(entry.get("hash"))
    if paths:
        audit.problems.append(f"the proofs name {len(paths)} events the export leaves out (sequence {min(paths, key=str)} first): "
                              "events were removed from it")
    return audit


def _chain_hash(entry: Mapping[str, Any]) -> str | None:
    """The chain hash an exported event should carry, from what it shows (``None`` when what it shows is malformed)."""
    try:
        return _computed(entry)
    except (TypeError, ValueError):
        return None


def _computed(entry: Mapping[str, Any]) -> str:
    known = {"id", "treaty", "sequence", "type", "date", "source", "recorded_at", "prev_hash", "hash"}
    record = Record(id=str(entry.get("id")), treaty=str(entry.get("treaty")), sequence=int(entry.get("sequence") or 0), type=str(entry.get("type")),
                    date=_day(entry.get("date")), fields={k: v for k, v in entry.items() if k not in known}, source=dict(entry.get("source") or {}),
                    recorded_at=datetime.fromisoformat(str(entry.get("recorded_at"))), prev_hash=str(entry.get("prev_hash")))
    return chain_hash(record.content(), record.prev_hash)


def _day(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


def audit_consistency(old: str, new: str, proof: Mapping[str, Any], verifier: NoteVerifier) -> Audit:
    """Check that the log of signed checkpoint ``old`` is a prefix of that of ``new`` (``GET /v1/proofs/consistency``'s answer)."""
    first, second = open_checkpoint(old, verifier), open_checkpoint(new, verifier)
    audit = Audit(second)
    if first.origin != second.origin:
        audit.problems.append(f"the checkpoints are of two logs, {first.origin!r} and {second.origin!r}")
        return audit
    if second.size < first.size:
        audit.problems.append(f"the newer checkpoint holds {second.size} events, fewer than the {first.size} of the older: events were deleted")
        return audit
    if (proof.get("first"), proof.get("second")) != (first.size, second.size):
        audit.problems.append(f"the proof is between sizes {proof.get('first')} and {proof.get('second')}, not {first.size} and {second.size}")
        return audit
    if not verify_consistency(first.size, second.size, first.root, second.root, _hashes(proof.get("consistency_path"), "consistency_path")):
        audit.problems.append(f"the log of {second.size} events does not extend the one of {first.size} the older checkpoint signed: "
                              "history before it was rewritten, truncated or forked")
    return audit
