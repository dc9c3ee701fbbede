"""Sources: every recorded fact cites where it comes from."""

from __future__ import annotations

from typing import Any

from treaty_ledger.domain.dates import parse_date
from treaty_ledger.domain.errors import InvalidInput, MissingSource

__all__ = ["normalise_source"]

_TEXT_FIELDS = ("title", "url", "publisher", "quote")
_MAX_TEXT = 10_000


def normalise_source(value: Any, *, field: str = "source") -> dict[str, Any]:
    """Check a source and return it in canonical form (absent optional fields dropped).

    A source needs a ``title`` or a ``url``; ``publisher``, ``published_on`` (a date) and a
    short ``quote`` are optional.
    """
    if value is None:
        raise MissingSource("every event must cite a source with at least a title or a url", field=field)
    if not isinstance(value, dict):
        raise MissingSource("expected an object with at least a title or a url", field=field)
    unknown = sorted(set(value) - {*_TEXT_FIELDS, "published_on"})
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0]!r}; a source has title, url, publisher, published_on and quote",
            field=f"{field}.{unknown[0]}",
        )
    source: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        text = value.get(name)
        if text is None:
            continue
        if not isinstance(text, str):
            raise InvalidInput("expected text", field=f"{field}.{name}")
        text = text.strip()
        if len(text) > _MAX_TEXT:
            raise InvalidInput(f"longer than {_MAX_TEXT} characters", field=f"{field}.{name}")
        if text:
            source[name] = text
    if "url" in source and not source["url"].startswith(("http://", "https://")):
        raise InvalidInput("expected an http:// or https:// address", field=f"{field}.url")
    if not ("title" in source or "url" in source):
        raise MissingSource("a source needs at least a title or a url", field=field)
    if value.get("published_on") is not None:
        source["published_on"] = parse_date(value["published_on"], field=f"{field}.published_on")
    return source
