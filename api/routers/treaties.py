"""Treaties: register, list, get, verify one chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from treaty_ledger.api.bodies import JsonObject
from treaty_ledger.api.dependencies import ReaderKey, ServicesDep, WriterKey
from treaty_ledger.api.openapi import json_body
from treaty_ledger.api.schemas import ErrorPublic, TreatyPublic, VerifyPublic

router = APIRouter(prefix="/v1/treaties", tags=["treaties"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "no key, or an unknown or revoked key"},
    403: {"model": ErrorPublic, "description": "the key lacks the role"},
    404: {"model": ErrorPublic, "description": "unknown treaty"},
    422: {"model": ErrorPublic, "description": "bad input: the field and the reason"},
    503: {"model": ErrorPublic, "description": "not now (a rebuild holds the views, or a write kept conflicting): ask again after Retry-After seconds"},
}

CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                             "description": "the answer; as CSV with format=csv or Accept: text/csv"}}
"""A read that also answers as CSV."""

BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorPublic, "description": "the body is larger than the API reads (1 MiB unless TREATY_LEDGER_MAX_BODY_BYTES says otherwise)"},
    415: {"model": ErrorPublic, "description": "the body is not sent as application/json"},
}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TreatyPublic,
             responses={**ERRORS, **BODY_ERRORS, 409: {"model": ErrorPublic, "description": "a treaty with that id exists"}},
             openapi_extra=json_body("TreatyCreate", "the treaty: id, title, depositaries, rules, source"))
def register_treaty(_: WriterKey, body: JsonObject, services: ServicesDep) -> dict[str, Any]:
    """Register a treaty with its rules and source."""
    return services.register_treaty(body).to_json()  # type: ignore[no-any-return]


@router.get("", response_model=list[TreatyPublic], responses=ERRORS)
def list_treaties(services: ServicesDep, _: ReaderKey) -> list[dict[str, Any]]:
    """Every registered treaty."""
    return [t.to_json() for t in services.ledger.list_treaties()]


@router.get("/{treaty}", response_model=TreatyPublic, responses=ERRORS)
def get_treaty(treaty: str, services: ServicesDep, _: ReaderKey) -> dict[str, Any]:
    """One treaty, with the number of its events and the head of its hash chain."""
    return services.ledger.get_treaty(treaty).to_json()


@router.get("/{treaty}/verify", response_model=VerifyPublic, responses=ERRORS)
def verify_treaty(treaty: str, services: ServicesDep, _: ReaderKey) -> dict[str, Any]:
    """Recompute the treaty's hash chain from the stored events."""
    return services.ledger.verify(treaty).to_json()
