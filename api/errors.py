"""Errors become responses here, and only here.

The API's own errors (beside the domain's, see :mod:`treaty_ledger.domain.errors`)::

    ApiError
    ├── Unauthorized          401: no key, or an unknown or revoked key
    ├── Forbidden             403: the key lacks the role
    ├── PayloadTooLarge       413: the body is larger than the API reads
    └── UnsupportedMediaType  415: the body is not sent as JSON

Every error response of the API is ``{"error": kind, "field": name-or-null, "reason": sentence}``;
a page for people (:mod:`treaty_ledger.api.pages`) answers the same status with the same words as a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from treaty_ledger.domain.errors import (
    EventNotFound,
    LedgerError,
    NotInTree,
    TreatyAlreadyExists,
    TreatyNotFound,
    TreeDamaged,
    Unsigned,
    WriteConflict,
)
from treaty_ledger.store.idempotency import IdempotencyInProgress
from treaty_ledger.store.keys import KeyNotFound
from treaty_ledger.store.projection import ViewsBeingRebuilt, ViewsIncomplete

__all__ = ["ApiError", "Forbidden", "PayloadTooLarge", "Unauthorized", "UnsupportedMediaType", "install_error_handlers"]


class ApiError(Exception):
    """Base class of the API's own errors."""

    status = 400

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class Unauthorized(ApiError):
    """No key, or an unknown or revoked key."""

    status = 401


class Forbidden(ApiError):
    """The key lacks the role the request needs."""

    status = 403


class PayloadTooLarge(ApiError):
    """The request body is larger than the API reads."""

    status = 413


class UnsupportedMediaType(ApiError):
    """The request body is not sent as JSON."""

    status = 415


_STATUS = ((TreatyNotFound, 404), (EventNotFound, 404), (KeyNotFound, 404), (TreatyAlreadyExists, 409), (IdempotencyInProgress, 409),
           (WriteConflict, 503), (ViewsIncomplete, 500), (ViewsBeingRebuilt, 503), (NotInTree, 404), (Unsigned, 503), (TreeDamaged, 500))


def _kind(error: Exception) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def _text(value: str) -> str:
    """``value`` as UTF-8 can carry it: a lone surrogate a client sent is echoed as its escape (``\\ud800``)."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _body(kind: str, field: str | None, reason: str) -> dict[str, Any]:
    return {"error": kind, "field": None if field is None else _text(field), "reason": _text(reason)}


def _field_of(location: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    field = ""
    for part in parts:
        field += f"[{part}]" if part.isdigit() else (f".{part}" if field else part)
    return field or None


def _problem(error: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """The kind, field and reason of one of FastAPI's parameter errors (query, path, header).

    Request bodies never get here: the domain checks them (:mod:`treaty_ledger.api.bodies`).
    """
    return "invalid_input", _field_of(tuple(error.get("loc", ()))), str(error.get("msg", "invalid request"))


PageError = Callable[[Request, int, dict[str, Any], dict[str, str] | None], Response]
"""Renders an error for a page route: the request, the status, the error's JSON body, the headers."""


def install_error_handlers(app: FastAPI, page_error: PageError | None = None) -> None:
    """Map the domain's, the store's and the API's errors to JSON responses; on the routes of ``page_error``'s own module
    (the pages), to the page it renders."""

    def respond(request: Request, body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
        endpoint = request.scope.get("endpoint")
        if page_error is not None and getattr(endpoint, "__module__", None) == page_error.__module__:  # a route of the pages' module
            return page_error(request, status, body, headers)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, error: LedgerError) -> Response:
        status = next((code for kind, code in _STATUS if isinstance(error, kind)), 422)
        retry = (status == 503 and not isinstance(error, Unsigned)) or isinstance(error, IdempotencyInProgress)
        headers = {"Retry-After": str(getattr(error, "retry_after", 1))} if retry else None
        return respond(request, _body(_kind(error), error.field, error.reason), status, headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return respond(request, _body(_kind(error), error.field, error.reason), error.status, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        problems = [_problem(e) for e in error.errors()] or [("invalid_input", None, "invalid request")]
        kind, field, reason = problems[0]
        body = _body(kind, field, reason)
        body["errors"] = [{"field": None if f is None else _text(f), "reason": _text(r)} for _, f, r in problems]
        return respond(request, body, 422)
