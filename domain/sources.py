"""Sources: every recorded fact cites where it comes from.

A source is defined once, as :data:`SOURCE_FIELDS`: :func:`normalise_source` checks a client's
source against it, and the JSON Schema and the reference documentation are read off it.
"""

from __future__ import annotations

from typing import Any

from treaty_ledger.domain.dates import parse_date
from treaty_ledger.domain.errors import InvalidInput, MissingSource
from treaty_ledger.domain.fields import FieldSpec, normalise_value

__all__ = ["MAX_SOURCE_TEXT", "SOURCE_FIELDS", "URL_PATTERN", "normalise_source"]

MAX_SOURCE_TEXT = 10_000
"""The longest text a source's field takes, in characters."""

URL_PATTERN = r"^https?://"
"""A source's address is an http:// or https:// URL."""

SOURCE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("title", "text", "the title of the source (a title or a url is required)", max_length=MAX_SOURCE_TEXT),
    FieldSpec("url", "text", "its http:// or https:// address (a title or a url is required)", max_length=MAX_SOURCE_TEXT, pattern=URL_PATTERN),
    FieldSpec("publisher", "text", "who published it", max_length=MAX_SOURCE_TEXT),
    FieldSpec("published_on", "date", "when it was published"),
    FieldSpec("quote", "text", "a short quote of the passage relied on", max_length=MAX_SOURCE_TEXT),
)
"""The fields of a source; none is required on its own, but a title or a url is."""

_NAMES = ", ".join(spec.name for spec in SOURCE_FIELDS)
_SOURCE_NAMES = frozenset(spec.name for spec in SOURCE_FIELDS)


_CHECKED: dict[tuple[tuple[Any, Any], ...], dict[str, Any]] = {}
"""Sources already checked, by their items, and their canonical form (a dataset cites a few sources many times)."""
_MAX_CHECKED = 4096


def normalise_source(value: Any, *, field: str = "source") -> dict[str, Any]:
    """Check a source and return it in canonical form (absent optional fields dropped).

    A source needs a ``title`` or a ``url``; ``publisher``, ``published_on`` (a date) and a
    short ``quote`` are optional. A source given again, item for item, is answered from the
    sources checked before (a copy); only sources that passed are kept, so an error is
    raised, naming ``field``, each time.
    """
    if type(value) is not dict:
        return _normalise_source(value, field=field)
    key = tuple(value.items())
    try:
        checked = _CHECKED.get(key)
    except TypeError:  # a value that cannot be hashed (a list, a mapping): check it each time
        return _normalise_source(value, field=field)
    if checked is None:
        checked = _normalise_source(value, field=field)
        if len(_CHECKED) >= _MAX_CHECKED:
            _CHECKED.clear()
        _CHECKED[key] = checked
    return dict(checked)


def _normalise_source(value: Any, *, field: str) -> dict[str, Any]:
    if value is None:
        raise MissingSource("a source is required: every event must cite a source with at least a title or a url", field=field)
    if not isinstance(value, dict):
        raise MissingSource("expected an object with at least a title or a url", field=field)
    if not _SOURCE_NAMES.issuperset(value):
        unknown = sorted(set(value) - _SOURCE_NAMES)
        raise InvalidInput(f"unknown field {unknown[0]!r}; a source has {_NAMES}", field=f"{field}.{unknown[0]}")
    source: dict[str, Any] = {}
    for spec in SOURCE_FIELDS:
        item = value.get(spec.name)
        if item is None:
            continue
        where = f"{field}.{spec.name}"
        if spec.kind == "date":
            source[spec.name] = parse_date(item, field=where)
            continue
        if not isinstance(item, str):
            raise InvalidInput("expected text", field=where)
        if not item.strip():
            continue  # blank text is taken as absent
        source[spec.name] = normalise_value(spec, item, field=where)
    if "url" in source and not source["url"].startswith(("http://", "https://")):
        raise InvalidInput("expected an http:// or https:// address", field=f"{field}.url")
    if not ("title" in source or "url" in source):
        raise MissingSource("a source needs at least a title or a url", field=field)
    return source
