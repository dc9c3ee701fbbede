"""Reading a request's JSON body, once, before the domain checks it.

Request bodies are not validated by pydantic models: the domain's catalogue checks each one in a
single pass (:func:`treaty_ledger.domain.events.normalise_event`,
:func:`treaty_ledger.domain.registration.normalise_registration`), and the OpenAPI document
states the same catalogue's constraints (:mod:`treaty_ledger.domain.schema`). Here only the
envelope is read: the media type, the size, UTF-8, JSON, the nesting depth, an object at the top.
Each failure names the field ``body``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

from treaty_ledger.api.errors import PayloadTooLarge, UnsupportedMediaType
from treaty_ledger.domain.errors import InvalidInput

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "JsonObject", "json_object", "request_body"]

MAX_BODY_BYTES = 1 << 20
"""The largest request body the API reads: 1 MiB (an event is a few kilobytes)."""

MAX_DEPTH = 32
"""How deeply a body's arrays and objects may nest (an event nests three or four levels)."""


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _depth_within(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return False
                stack.append((child, depth + 1))
    return True


def json_object(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The JSON object in ``raw``, or an error naming ``body`` and saying what is wrong."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"expected a JSON body (Content-Type: application/json), got {media_type or 'no Content-Type'!r}",
                                   field="body")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is {len(raw):,} bytes; the API reads at most {MAX_BODY_BYTES:,}", field="body")
    if not raw.strip():
        raise InvalidInput("the request body is empty: send a JSON object", field="body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"the request body is not UTF-8 text (byte {error.start} is {raw[error.start]:#04x})", field="body") from None
    try:
        value = json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"the request body is not valid JSON at character {error.pos}: {error.msg}", field="body") from None
    except RecursionError:
        raise InvalidInput(f"the request body nests deeper than {MAX_DEPTH} levels", field="body") from None
    except ValueError as error:  # NaN, Infinity, or an integer of more digits than Python reads
        raise InvalidInput(f"the request body is not valid JSON: {error}", field="body") from None
    if not isinstance(value, dict):
        kind = "null" if value is None else {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
        raise InvalidInput(f"expected a JSON object, got {kind}", field="body")
    if not _depth_within(value, MAX_DEPTH):
        raise InvalidInput(f"the request body nests deeper than {MAX_DEPTH} levels", field="body")
    return value


async def request_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (see :func:`json_object`)."""
    return json_object(await request.body(), request.headers.get("content-type"))


JsonObject = Annotated[dict[str, Any], Depends(request_body)]
"""A route's JSON body, read once; the domain checks its content."""
