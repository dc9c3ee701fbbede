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

from treaty_ledger.api.dependencies import SettingsDep
from treaty_ledger.api.errors import PayloadTooLarge, UnsupportedMediaType
from treaty_ledger.domain.errors import InvalidInput

__all__ = ["MAX_DEPTH", "JsonObject", "json_object", "request_body"]

MAX_DEPTH = 32
"""How deeply a body's arrays and objects may nest (an event nests three or four levels)."""


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _check_tree(value: dict[str, Any]) -> None:
    """Refuse a body nested deeper than :data:`MAX_DEPTH`, or with a key that is not Unicode text.

    (A lone surrogate in a value is the domain's to name, field by field; a key has no field to
    name but the body.)
    """
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    escaped = key.encode("utf-8", "backslashreplace").decode()
                    raise InvalidInput(f"the key {escaped!r}{f' in {path}' if path else ''} holds a lone surrogate, which is not Unicode text",
                                       field="body") from None
                children.append((child, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            children = [(child, f"{path}[{i}]") for i, child in enumerate(item)]
        else:
            continue
        for child, where in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_DEPTH:
                    raise InvalidInput(f"the request body nests deeper than {MAX_DEPTH} levels", field="body")
                stack.append((child, depth + 1, where))


def json_object(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The JSON object in ``raw`` (already held to the size limit), or an error naming ``body`` and saying what is wrong."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"expected a JSON body (Content-Type: application/json), got {media_type or 'no Content-Type'!r}",
                                   field="body")
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
    _check_tree(value)
    return value


async def request_body(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """The request's JSON object (see :func:`json_object`), read no further than the size cap.

    The cap is the app's setting (``TREATY_LEDGER_MAX_BODY_BYTES``, default
:data:`~treaty_ledger.api.settings.MAX_BODY_BYTES`):
    a declared ``Content-Length`` over it is refused before a byte is read, a body streamed
    without one as soon as it passes it; either way a 413, and nothing parsed.
    """
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {int(declared):,} bytes; the API reads at most {limit:,}", field="body")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise PayloadTooLarge(f"the body is over {limit:,} bytes, the most the API reads", field="body")
    return json_object(bytes(raw), request.headers.get("content-type"))


JsonObject = Annotated[dict[str, Any], Depends(request_body)]
"""A route's JSON body, read once; the domain checks its content."""
