"""The OpenAPI document: FastAPI's, with the request bodies the domain's catalogue defines.

Routes that take a body declare it with :func:`json_body` (a reference into
``components/schemas``); :func:`openapi_document` adds the catalogue's schemas there, so the
document states every constraint the server enforces at the door.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from treaty_ledger.domain.schema import request_schemas

__all__ = ["json_body", "openapi_document"]

_PREFIX = "#/components/schemas/"


def json_body(schema: str, description: str) -> dict[str, Any]:
    """A route's ``openapi_extra``: a required JSON body of the catalogue's schema ``schema``."""
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": {"$ref": f"{_PREFIX}{schema}"}}}}}


def openapi_document(app: FastAPI, *, reads_open: bool) -> dict[str, Any]:
    """The document, built once: FastAPI's, the catalogue's request schemas, and (where
    ``reads_open``) reads marked as allowed without a key."""
    if app.openapi_schema is None:
        document = FastAPI.openapi(app)
        document.setdefault("components", {}).setdefault("schemas", {}).update(request_schemas(ref_prefix=_PREFIX))
        if reads_open:
            for operations in document.get("paths", {}).values():
                read = operations.get("get", {})
                if read.get("security"):
                    read["security"] = [{}, *read["security"]]
        app.openapi_schema = document
    return app.openapi_schema
