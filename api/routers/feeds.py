"""Atom feeds of newly recorded events, per treaty and for the whole ledger: newest first, so that a
journalist can subscribe to a treaty in a feed reader."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]

from treaty_ledger.api.dependencies import ReaderKey, ServicesDep
from treaty_ledger.api.routers.treaties import ERRORS
from treaty_ledger.domain.records import Record
from treaty_ledger.domain.states import state_name

__all__ = ["router"]

router = APIRouter(tags=["feeds"])

ATOM = "application/atom+xml"
FEED_RESPONSES = {**ERRORS, 200: {"content": {ATOM: {"schema": {"type": "string"}}}, "description": "an Atom 1.0 feed, newest event first"}}
Limit = Annotated[int, Query(ge=1, le=500, description="how many of the newest events")]


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 cannot hold (C0 controls but tab, newline and return; lone surrogates; two non-characters)."""


def _xml(text: str) -> str:
    """``text`` as an XML document can hold it: each character it cannot, shown as U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _title(record: Record) -> str:
    who = f"{record.state} ({state_name(record.state)}) " if record.state else ""
    when = f" on {record.date.isoformat()}" if record.date else ""
    return f"{record.treaty}: {who}{record.type.replace('_', ' ')}{when}"


def _summary(record: Record) -> str:
    source = record.source
    cited = source.get("title") or source.get("url") or ""
    publisher = f" ({source['publisher']})" if source.get("publisher") else ""
    fields = "; ".join(f"{name}: {value}" for name, value in record.fields.items() if name != "state" and isinstance(value, str | bool | int))
    return f"{fields}. Source: {cited}{publisher}".lstrip(". ")


def _feed(request: Request, title: str, path: str, records: list[Record]) -> Response:
    base = str(request.base_url).rstrip("/")
    feed = FeedGenerator()
    feed.id(f"{base}{path}")
    feed.title(_xml(title))
    feed.link(href=f"{base}{path}", rel="self", type=ATOM)
    feed.link(href=f"{base}/", rel="alternate", type="text/html")
    feed.author({"name": "Treaty Ledger"})
    feed.updated(records[0].recorded_at if records else "1970-01-01T00:00:00Z")
    for record in records:
        entry = feed.add_entry(order="append")
        entry.id(f"urn:uuid:{record.id}")
        entry.title(_xml(_title(record)))
        entry.updated(record.recorded_at)
        entry.published(record.recorded_at)
        entry.link(href=f"{base}/v1/events/{record.id}", rel="alternate", type="application/json")
        entry.summary(_xml(_summary(record)))
    return Response(feed.atom_str(pretty=True), media_type=ATOM)


@router.get("/v1/treaties/{treaty}/feed", responses=FEED_RESPONSES, response_class=Response)
def treaty_feed(request: Request, treaty: str, services: ServicesDep, _: ReaderKey, limit: Limit = 50) -> Response:
    """The treaty's newest recorded events as an Atom feed, newest first (by recorded time, not effective date)."""
    row = services.read.treaty(treaty)
    records = services.read.view.records(row.treaty, limit=limit, newest_first=True)
    return _feed(request, f"Treaty Ledger: {row.doc.get('title') or row.treaty}", f"/v1/treaties/{row.treaty}/feed", records)


@router.get("/v1/feed", responses=FEED_RESPONSES, response_class=Response)
def ledger_feed(request: Request, services: ServicesDep, _: ReaderKey, limit: Limit = 50) -> Response:
    """The whole ledger's newest recorded events as an Atom feed, newest first."""
    newest: list[Record] = []
    for row in services.read.treaties():
        newest.extend(services.read.view.records(row.treaty, limit=limit, newest_first=True))
    newest.sort(key=lambda r: (r.recorded_at, r.treaty, r.sequence), reverse=True)
    return _feed(request, "Treaty Ledger: newly recorded events", "/v1/feed", newest[:limit])
