"""Dates, timestamps and ISO 8601 durations, with calendar arithmetic.

Six months after 22 May 2020 is 22 November 2020; a month-end that does not exist in the
target month falls back to its last day (six months after 31 August is 28 or 29 February).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from treaty_ledger.domain.errors import InvalidDate

__all__ = ["Duration", "iso_day", "parse_date", "parse_duration", "parse_timestamp", "utc_now"]

_DURATION = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?$")


@lru_cache(maxsize=1 << 16)
def iso_day(day: date) -> str:
    """``day.isoformat()``, remembered: rebuilding the views formats the same few thousand dates over and over."""
    return day.isoformat()


@dataclass(frozen=True, slots=True)
class Duration:
    """A calendar duration: years, months and days (ISO 8601 ``PnYnMnD``, or ``PnW``)."""

    years: int = 0
    months: int = 0
    days: int = 0

    def after(self, start: date, *, field: str = "date") -> date:
        """The date this duration after ``start``, by calendar arithmetic.

        Raises :class:`~treaty_ledger.domain.errors.InvalidDate` naming ``field`` (by default
        ``date``: the effective date of the event the duration runs from) when the result
        would fall past 9999-12-31, the last date the ledger can hold.
        """
        total_months = start.month - 1 + self.months + 12 * self.years
        year = start.year + total_months // 12
        month = total_months % 12 + 1
        try:
            day = min(start.day, calendar.monthrange(year, month)[1])
            return date(year, month, day) + timedelta(days=self.days)
        except (OverflowError, ValueError):  # the year or the day count leaves the calendar
            raise InvalidDate(
                f"{self} after {iso_day(start)} falls past {iso_day(date.max)}, the last date the ledger can hold",
                field=field,
            ) from None

    def isoformat(self) -> str:
        """The ISO 8601 text of this duration (``P6M``, ``P60D``, ``P0D`` for zero)."""
        text = "P"
        if self.years:
            text += f"{self.years}Y"
        if self.months:
            text += f"{self.months}M"
        if self.days or text == "P":
            text += f"{self.days}D"
        return text

    def __str__(self) -> str:
        return self.isoformat()


def parse_duration(value: Any, *, field: str) -> Duration:
    """Read an ISO 8601 duration of years, months, weeks and days (``P6M``, ``P60D``, ``P1Y``)."""
    if isinstance(value, Duration):
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or value == "P":
        raise InvalidDate(
            f"expected an ISO 8601 duration such as 'P6M', 'P60D' or 'P1Y', got {value!r}",
            field=field,
        )
    parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    return Duration(years=parts["years"], months=parts["months"], days=parts["days"] + 7 * parts["weeks"])


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: Any, *, field: str) -> date:
    """Read a calendar date given as ``YYYY-MM-DD`` (or a ``date``)."""
    if isinstance(value, datetime):
        raise InvalidDate(f"expected a date YYYY-MM-DD, got a timestamp {value.isoformat()!r}", field=field)
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise InvalidDate(f"expected a date YYYY-MM-DD, got {value!r}", field=field)
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise InvalidDate(f"{value!r} is not a real calendar date ({error})", field=field) from None


def parse_timestamp(value: Any, *, field: str) -> datetime:
    """Read an ISO 8601 timestamp; one without a zone is taken as UTC. Returned in UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidDate(
                f"expected an ISO 8601 timestamp such as '2021-03-01T12:00:00Z', got {value!r}",
                field=field,
            ) from None
    else:
        raise InvalidDate(f"expected an ISO 8601 timestamp, got {value!r}", field=field)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidDate(f"{value!r} lies outside the years 1 to 9999 once taken to UTC", field=field) from None


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(tz=UTC)


def today() -> date:
    """Today's date in UTC: the default ``as_of`` of the API and of the command line alike."""
    return utc_now().date()
