"""Health, readiness, and the whole ledger's verification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from treaty_ledger.api.dependencies import ReaderKey, ServicesDep
from treaty_ledger.api.routers.treaties import ERRORS
from treaty_ledger.api.schemas import VerifyPublic
from treaty_ledger.store.projection import APPLICATION_NAME

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=dict[str, str])
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=dict[str, Any], responses={503: {"description": "the store does not answer"}})
def readyz(services: ServicesDep) -> Any:
    """The store answers."""
    try:
        services.view.max_tracking_id(APPLICATION_NAME)
        services.ledger.recorder.max_notification_id()
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return JSONResponse({"status": "unavailable", "reason": str(error)}, status_code=503)
    return {"status": "ready", "database": services.database.redacted()}


@router.get("/v1/verify", response_model=VerifyPublic, responses={401: ERRORS[401]}, tags=["treaties"])
def verify(services: ServicesDep, _: ReaderKey) -> dict[str, Any]:
    """Recompute every treaty's hash chain from the stored events."""
    return services.ledger.verify().to_json()
