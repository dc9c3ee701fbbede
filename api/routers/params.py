"""Query parameters shared by the read routes: dates and moments, parsed by the domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Query

from treaty_ledger.domain.dates import parse_date, parse_timestamp, today
from treaty_ledger.domain.schema import DATE_PATTERN

__all__ = ["DATE_FORMAT", "AsOf", "Format", "KnownAt", "as_of_date", "known_at_moment"]

DATE_FORMAT = {"format": "date", "pattern": DATE_PATTERN}
"""What the OpenAPI document says of a date parameter: the domain reads it (one pass), FastAPI does not."""

AsOf = Annotated[str | None, Query(description="effective date YYYY-MM-DD (default: today, in UTC)", examples=["2020-06-01"],
                                   json_schema_extra=DATE_FORMAT)]
KnownAt = Annotated[
    str | None,
    Query(description="answer as the ledger knew it at this ISO 8601 time (default: now)", examples=["2021-03-01T12:00:00Z"],
          json_schema_extra={"format": "date-time"}),
]

Format = Annotated[
    Literal["json", "csv"] | None,
    Query(alias="format", description="csv: the answer as CSV, one row per state, item, change or event (as `Accept: text/csv` does); "
                                      "default json"),
]


def as_of_date(value: str | None, field: str = "as_of") -> date:
    """The ``as_of`` date, today (in UTC) when absent."""
    return parse_date(value, field=field) if value else today()


def known_at_moment(value: str | None) -> datetime | None:
    """The ``known_at`` moment in UTC, ``None`` (now) when absent."""
    return parse_timestamp(value, field="known_at") if value else None
