"""Events: record one (idempotently), the audit history, one event with its corrections."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import NAMESPACE_URL, uuid5

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse, Response

from treaty_ledger.api.bodies import JsonObject
from treaty_ledger.api.csv_export import csv_response, wants_csv
from treaty_ledger.api.dependencies import ReaderKey, ServicesDep, WriterKey
from treaty_ledger.api.openapi import json_body
from treaty_ledger.api.routers.params import DATE_FORMAT, Format, KnownAt, as_of_date, known_at_moment
from treaty_ledger.api.routers.proofs import PROOF_ERRORS, with_receipt
from treaty_ledger.api.routers.treaties import BODY_ERRORS, CSV, ERRORS
from treaty_ledger.api.schemas import (
    ErrorPublic,
    EventHistoryPublic,
    EventPagePublic,
    EventPublic,
    ReceiptPublic,
)
from treaty_ledger.bootstrap import Services
from treaty_ledger.domain.errors import InvalidInput
from treaty_ledger.domain.records import Record
from treaty_ledger.store.idempotency import Answer, IdempotencyStore

router = APIRouter(tags=["events"])

_IDEMPOTENCY = uuid5(NAMESPACE_URL, "https://treaty-ledger.org/idempotency/")


_IDEMPOTENCY_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorPublic, "description": "idempotency_in_progress: a request with this Idempotency-Key and body is still "
          "being answered after 30 s (retry later)"},
}


@router.post("/v1/treaties/{treaty}/events", status_code=status.HTTP_201_CREATED, response_model=EventPublic,
             responses={**ERRORS, **BODY_ERRORS, **_IDEMPOTENCY_ERRORS},
             openapi_extra=json_body("EventCreate", "the event: type, date, state, the type's own fields, source (docs/events.md)"))
def record_event(
    treaty: str,
    key: WriterKey,  # before the body: a request without a key is a 401, whatever its body
    payload: JsonObject,
    services: ServicesDep,
    idempotency_key: Annotated[str | None, Header(
        description="makes a retry safe: the same key and body get the first response, byte for byte; "
                    "the same key with another body is a 422 idempotency_conflict. Scoped to the API key and the treaty.",
        max_length=200)] = None,
) -> Any:
    """Record one event. It is checked against the treaty's timeline; on any error nothing is recorded.

    With an ``Idempotency-Key`` the write is safe to retry, also when retries race: the key is
    reserved before the event is recorded, so of requests with one key (from one API key, for one
    treaty) exactly one records. The others get the first one's response (status and body, byte for
    byte), waiting up to 30 s for it (then a 409 ``idempotency_in_progress``), or at once a 422
    ``idempotency_conflict`` naming ``Idempotency-Key`` when their body differs. A write that fails
    (a 422 for a timeline contradiction, say) records nothing and does not hold the key: a retry,
    with the same body or a corrected one, is answered afresh. Keys of two API keys never collide.
    """
    if idempotency_key is None:
        return services.record_event(treaty, payload).to_json()
    store = IdempotencyStore(services.view)
    request_hash = store.request_hash(payload)
    # A response remembered before keys were scoped per API key (its scope names the treaty only).
    earlier = store.lookup(idempotency_key, f"{treaty}/events", request_hash)
    if earlier is not None:
        return _sent(earlier)
    claimed = store.claim(idempotency_key, f"{key.id}/{treaty}/events", request_hash)
    if isinstance(claimed, Answer):
        return _sent(claimed)
    # Derived from the key: a process that takes over a reservation left by one that died after
    # recording finds the event already recorded instead of recording it twice.
    event_id = str(uuid5(_IDEMPOTENCY, f"{key.id}\n{treaty}\n{idempotency_key}"))
    try:
        body = EventPublic.model_validate(_recorded(services, treaty, payload, event_id).to_json()).model_dump(mode="json")
    except BaseException:
        store.release(claimed)  # nothing was recorded: the key is free for a retry
        raise
    return _sent(store.complete(claimed, status.HTTP_201_CREATED, bytes(JSONResponse(body).body)))


def _recorded(services: Services, treaty: str, payload: dict[str, Any], event_id: str) -> Record:
    """Record the event under ``event_id``, or the event already recorded under it (by a request that died before it answered)."""
    try:
        return services.record_event(treaty, payload, event_id=event_id)
    except InvalidInput as error:
        if error.field != "id":
            raise
        services.refresh()
        record = services.view.record_by_id(event_id)
        if record is None:
            raise
        return record


def _sent(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, media_type="application/json")


@router.get("/v1/treaties/{treaty}/events", response_model=EventPagePublic, responses={**ERRORS, **CSV})
def list_events(
    request: Request,
    treaty: str,
    services: ServicesDep,
    _: ReaderKey,
    state: Annotated[str | None, Query(description="only events of this state")] = None,
    type: Annotated[list[str] | None, Query(description="only events of these types (repeatable)")] = None,  # noqa: A002
    from_: Annotated[str | None, Query(alias="from", json_schema_extra=DATE_FORMAT,
                                       description="effective date on or after (YYYY-MM-DD), inclusive (unlike changes' from, the exclusive starting point)")] = None,
    to: Annotated[str | None, Query(description="effective date on or before (YYYY-MM-DD)", json_schema_extra=DATE_FORMAT)] = None,
    known_at: KnownAt = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    format_: Format = None,
) -> Any:
    """The audit history in recorded order, filtered and paginated.

    Each event says whether it is retracted (``retracted``, ``retracted_by``) and which corrections name it
    (``corrected_by``), as known at ``known_at``; a correction names what it corrects (``corrects``), a
    retraction what it retracts (``retracts``).
    """
    page = services.read.events(
        treaty, state=state, types=type, start=as_of_date(from_, "from") if from_ else None, end=as_of_date(to, "to") if to else None,
        known_at=known_at_moment(known_at), limit=limit, cursor=cursor,
    )
    answer = {"treaty": treaty, "events": page.listed(), "next_cursor": page.next_cursor}
    return csv_response("events", answer, f"{treaty}-events") if wants_csv(request, format_) else answer


@router.get("/v1/events/{event_id}", response_model=EventHistoryPublic,
            responses={404: {"model": ErrorPublic, "description": "unknown event"}, 422: ERRORS[422], 401: ERRORS[401]})
def get_event(event_id: str, services: ServicesDep, _: ReaderKey) -> dict[str, Any]:
    """One event with its corrections and its retraction, if any."""
    return services.read.event(event_id)


@router.get("/v1/events/{event_id}/receipt", response_model=ReceiptPublic,
            responses={404: {"model": ErrorPublic, "description": "unknown event"}, 422: ERRORS[422], 401: ERRORS[401], 503: PROOF_ERRORS[503]})
def get_event_receipt(event_id: str, services: ServicesDep, _: ReaderKey) -> dict[str, Any]:
    """One event with its corrections and retraction, and its audit receipt (the event, what names it, and the treaty's registration)."""
    return with_receipt(services, services.read.event(event_id))
