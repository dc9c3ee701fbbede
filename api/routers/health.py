"""Health, readiness, and the whole ledger's verification."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from treaty_ledger.api.dependencies import ReaderKey, ServicesDep
from treaty_ledger.api.routers.treaties import ERRORS
from treaty_ledger.api.schemas import VerifyPublic
from treaty_ledger.bootstrap import Services
from treaty_ledger.domain.errors import LedgerError

router = APIRouter(tags=["health"])

_NOT_READY = ("the store does not answer, the views are behind it (being caught up), or a rebuild holds them; "
              "the body says which ({'status': 'unavailable', 'reason': ...})")


@router.get("/healthz", response_model=dict[str, str])
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _catch_up(services: Services) -> None:
    """Catch the views up after a not-ready answer (a read would do the same; a probe need not wait for it)."""
    with suppress(LedgerError):  # a rebuild took the views meanwhile, or they are damaged: the next probe says so
        services.projection.ensure_current(services.ledger)


@router.get("/readyz", response_model=dict[str, Any], responses={503: {"description": _NOT_READY}})
def readyz(services: ServicesDep) -> Any:
    """The store answers, and the views stand where it does, held by no rebuild.

    Views behind the store are caught up after the answer (503), so the next probe finds them
    ready; reads catch them up, too, before they answer.
    """
    try:
        standing = services.projection.standing(services.ledger)
        held = services.view.held_by_a_rebuild()
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return JSONResponse({"status": "unavailable", "reason": str(error)}, status_code=503)
    where = {"views": standing.views, "store": standing.store}
    if held:
        return JSONResponse({"status": "unavailable", "reason": f"a rebuild holds the views ({standing.describe()}): not ready until it ends", **where},
                            status_code=503, headers={"Retry-After": "5"})
    if standing.behind:
        return JSONResponse({"status": "unavailable", "reason": f"the views are behind the store ({standing.describe()}): catching up", **where},
                            status_code=503, headers={"Retry-After": "1"}, background=BackgroundTask(_catch_up, services))
    return {"status": "ready", "database": services.database.redacted(), **where}


@router.get("/v1/verify", response_model=VerifyPublic, responses={401: ERRORS[401]}, tags=["treaties"])
def verify(services: ServicesDep, _: ReaderKey) -> dict[str, Any]:
    """Recompute every treaty's hash chain from the stored events (once per head of the store: a repeat costs one query)."""
    return services.verify_ledger()
