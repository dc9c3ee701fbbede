"""Errors become responses here, and only here.

The API's own errors (beside the domain's, see :mod:`treaty_ledger.domain.errors`)::

    ApiError
    ├── Unauthorized   401: no key, or an unknown or revoked key
    └── Forbidden      403: the key lacks the role

Every error response is ``{"error": kind, "field": name-or-null, "reason": sentence}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from treaty_ledger.domain.errors import (
    EventNotFound,
    LedgerError,
    TreatyAlreadyExists,
    TreatyNotFound,
    WriteConflict,
)
from treaty_ledger.domain.events import EVENT_TYPES
from treaty_ledger.store.keys import KeyNotFound
from treaty_ledger.store.projection import ViewsIncomplete

__all__ = ["ApiError", "Forbidden", "Unauthorized", "install_error_handlers"]


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


_STATUS = ((TreatyNotFound, 404), (EventNotFound, 404), (KeyNotFound, 404), (TreatyAlreadyExists, 409), (WriteConflict, 503),
           (ViewsIncomplete, 500))


def _kind(error: Exception) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def _body(kind: str, field: str | None, reason: str) -> dict[str, Any]:
    return {"error": kind, "field": field, "reason": reason}


def _field_of(location: tuple[Any, ...], error_type: str) -> str | None:
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    if parts and (parts[0] in EVENT_TYPES or parts[0].endswith("Create")):  # drop the union member's tag
        parts = parts[1:]
    if error_type == "union_tag_invalid" or error_type == "union_tag_not_found":
        return "type"
    field = ""
    for part in parts:
        field += f"[{part}]" if part.isdigit() else (f".{part}" if field else part)
    return field or None


def _problem(error: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """The kind, field and reason of one of pydantic's validation errors, worded as the domain words its own."""
    error_type = str(error.get("type", ""))
    raw_context = error.get("ctx")
    context: Mapping[str, Any] = raw_context if isinstance(raw_context, Mapping) else {}
    reason = str(error.get("msg", "invalid request"))
    if error_type == "json_invalid":  # the location is the character where the text stops being JSON
        position = next((p for p in reversed(tuple(error.get("loc", ()))) if isinstance(p, int)), None)
        where = f" at character {position}" if position is not None else ""
        return "invalid_input", "body", f"the request body is not valid JSON{where}: {context.get('error', reason)}"
    field = _field_of(tuple(error.get("loc", ())), error_type)
    if error_type == "union_tag_invalid":
        reason = f"unknown event type {context.get('tag')!r}; known types are {context.get('expected_tags')}"
    elif error_type == "union_tag_not_found":
        reason = "every event needs a type"
    return ("invalid_date" if error_type == "invalid_date" else "invalid_input"), field, reason


def install_error_handlers(app: FastAPI) -> None:
    """Map the domain's, the store's and the API's errors to JSON responses."""

    @app.exception_handler(LedgerError)
    async def ledger_error(_: Request, error: LedgerError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(error, kind)), 422)
        headers = {"Retry-After": "1"} if status == 503 else None
        return JSONResponse(_body(_kind(error), error.field, error.reason), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(_body(_kind(error), error.field, error.reason), status_code=error.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [_problem(e) for e in error.errors()] or [("invalid_input", None, "invalid request")]
        kind, field, reason = problems[0]
        body = _body(kind, field, reason)
        body["errors"] = [{"field": f, "reason": r} for _, f, r in problems]
        return JSONResponse(body, status_code=422)
