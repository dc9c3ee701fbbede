"""The verifiable ledger: signed checkpoints, the public key, inclusion and consistency proofs (open like reads)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from treaty_ledger.api.dependencies import ReaderKey, ServicesDep
from treaty_ledger.api.routers.treaties import ERRORS
from treaty_ledger.api.schemas import CheckpointPublic, ConsistencyPublic, ErrorPublic, InclusionPublic, SigningKeyPublic
from treaty_ledger.bootstrap import Services
from treaty_ledger.domain.errors import InvalidInput, Unsigned
from treaty_ledger.store.receipts import checkpoint_json, consistency_json, entry_of, inclusion_json, receipt, signed_checkpoint

router = APIRouter(prefix="/v1", tags=["proofs"])

PROOF_ERRORS: dict[int | str, dict[str, Any]] = {
    401: ERRORS[401], 422: ERRORS[422],
    404: {"model": ErrorPublic, "description": "no such event, or no checkpoint of that size, or a size beyond the tree"},
    503: {"model": ErrorPublic, "description": "the ledger runs without a signing key: it issues no signed checkpoint"},
}



def with_receipt(services: Services, answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` with its audit receipt (:func:`~treaty_ledger.store.receipts.receipt`)."""
    return receipt(answer, answer["treaty"], ledger=services.ledger, view=services.view, tree=services.tree)


Size = Annotated[int | None, Query(ge=1, le=2**62, description="the tree size (default: the newest signed checkpoint's)")]


@router.get("/checkpoint", response_model=CheckpointPublic, responses=PROOF_ERRORS)
def latest_checkpoint(services: ServicesDep, _: ReaderKey) -> dict[str, Any]:
    """The newest signed checkpoint: tree size, root hash and the C2SP signed note (check it with `GET /v1/checkpoints/key`)."""
    return checkpoint_json(signed_checkpoint(services.tree, services.ledger), services.tree.origin)


@router.get("/checkpoints/key", response_model=SigningKeyPublic, responses=PROOF_ERRORS)
def signing_key(services: ServicesDep, _: ReaderKey) -> dict[str, Any]:
    """The public key that signs the checkpoints, as a signed-note verifier key (`name+id+key`), and the log's origin."""
    signer = services.tree.signer
    if signer is None:
        raise Unsigned("the ledger runs without a signing key (create one with `treaty-ledger keys signing create` and restart)", field="key")
    verifier = signer.verifier
    return {"origin": services.tree.origin, "algorithm": "Ed25519", "key_id": f"{verifier.key_id:08x}",
            "verifier_key": verifier.encoded()}


@router.get("/checkpoints", response_model=list[CheckpointPublic], responses=PROOF_ERRORS)
def list_checkpoints(
    services: ServicesDep,
    _: ReaderKey,
    after: Annotated[int, Query(ge=0, le=2**62, description="list checkpoints of tree sizes above this")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
) -> list[dict[str, Any]]:
    """Checkpoints issued, oldest first: any one a client kept can be asked for again."""
    services.tree.catch_up(services.ledger)
    return [checkpoint_json(c, services.tree.origin) for c in services.tree.checkpoints(after=after, limit=limit) if c.note is not None]


@router.get("/checkpoints/{size}", response_model=CheckpointPublic, responses=PROOF_ERRORS)
def checkpoint_of_size(size: Annotated[int, Path(ge=1, le=2**62)], services: ServicesDep, _: ReaderKey) -> dict[str, Any]:
    """The signed checkpoint issued at tree size `size`."""
    return checkpoint_json(signed_checkpoint(services.tree, services.ledger, size), services.tree.origin)


@router.get("/proofs/inclusion", response_model=InclusionPublic, responses=PROOF_ERRORS)
def inclusion_proof(
    services: ServicesDep,
    _: ReaderKey,
    event: Annotated[str | None, Query(max_length=200, description="the event's id")] = None,
    treaty: Annotated[str | None, Query(max_length=200, description="with `sequence`, instead of `event`: the treaty's id")] = None,
    sequence: Annotated[int | None, Query(ge=0, le=2**62, description="with `treaty`: the event's sequence (0: the registration)")] = None,
    tree_size: Size = None,
) -> dict[str, Any]:
    """RFC 9162's inclusion proof of an event (or a registration) in the tree of `tree_size` leaves, with the leaf's entry."""
    if event is None and (treaty is None or sequence is None):
        raise InvalidInput("name the event: its id (`event`), or `treaty` and `sequence` (0 for the registration)", field="event")
    services.tree.catch_up(services.ledger)
    leaf = services.tree.leaf(event_id=event, treaty=treaty, sequence=sequence)
    size = tree_size if tree_size is not None else signed_checkpoint(services.tree, services.ledger).size
    proof = services.tree.inclusion(leaf, size)
    return inclusion_json(proof, entry_of(leaf, services.ledger, services.view))


@router.get("/proofs/consistency", response_model=ConsistencyPublic, responses=PROOF_ERRORS)
def consistency_proof(
    services: ServicesDep,
    _: ReaderKey,
    first: Annotated[int, Query(ge=1, le=2**62, description="the smaller tree size (an older checkpoint's)")],
    second: Size = None,
) -> dict[str, Any]:
    """RFC 9162's consistency proof that the tree of `first` leaves is a prefix of the tree of `second`."""
    services.tree.catch_up(services.ledger)
    size = second if second is not None else signed_checkpoint(services.tree, services.ledger).size
    return consistency_json(first, size, services.tree.consistency(first, size))
