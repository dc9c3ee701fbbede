"""Fields of the catalogue: what kind of value each takes, and the check that puts a value in
canonical form. Event types (:mod:`treaty_ledger.domain.events`), sources
(:mod:`treaty_ledger.domain.sources`) and treaty registrations
(:mod:`treaty_ledger.domain.registration`) are each a tuple of :class:`FieldSpec`; validation,
the JSON Schema (:mod:`treaty_ledger.domain.schema`) and ``docs/events.md``
(:mod:`treaty_ledger.domain.reference`) are all read off them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from treaty_ledger.domain.dates import parse_date
from treaty_ledger.domain.errors import InvalidInput, UnknownState
from treaty_ledger.domain.states import normalise_state
from treaty_ledger.domain.text import MAX_TEXT, check_text

__all__ = ["KIND_WORDS", "FieldKind", "FieldSpec", "normalise_value"]

FieldKind = Literal["state", "states", "text", "texts", "boolean", "choice", "date", "ref", "refs", "changes", "actor", "slug", "rules",
                    "source"]

KIND_WORDS: dict[str, str] = {
    "state": "a state",
    "states": "a list of states",
    "text": "text",
    "texts": "a list of texts",
    "boolean": "true or false",
    "choice": "one of",
    "date": "a date YYYY-MM-DD",
    "ref": "an event id",
    "refs": "a list of event ids",
    "changes": "an object of corrected fields",
    "actor": "a state or the name of a body",
    "slug": "a lowercase slug",
    "rules": "the treaty's rules",
    "source": "a source",
}
"""Each kind in words, for the reference documentation."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: its name, the kind of value, what it means, and its constraints."""

    name: str
    kind: FieldKind
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()
    refers_to: tuple[str, ...] = ()
    max_length: int | None = None
    pattern: str = ""


def normalise_value(spec: FieldSpec, value: Any, *, field: str | None = None) -> Any:
    """Check one value of field ``spec`` and return it in canonical form (errors name ``field``).

    Kinds that need more than a value (``rules``, ``source``) are read by their own modules.
    """
    name = field or spec.name
    kind = spec.kind
    if kind == "state":
        return normalise_state(check_text(value, field=name, what="a state code or name"), field=name)
    if kind == "states":
        if not isinstance(value, list):
            raise InvalidInput("expected a list of states", field=name)
        codes = [normalise_state(check_text(item, field=f"{name}[{i}]", what="a state code or name"), field=f"{name}[{i}]")
                 for i, item in enumerate(value)]
        if len(set(codes)) != len(codes):
            raise InvalidInput("a state is named twice", field=name)
        return sorted(codes)
    if kind == "text":
        return check_text(value, field=name, max_length=spec.max_length or MAX_TEXT)
    if kind == "texts":
        if not isinstance(value, list):
            raise InvalidInput("expected a list of texts", field=name)
        return [check_text(item, field=f"{name}[{i}]", max_length=spec.max_length or MAX_TEXT) for i, item in enumerate(value)]
    if kind == "boolean":
        if not isinstance(value, bool):
            raise InvalidInput(f"expected true or false, got {value!r}", field=name)
        return value
    if kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            raise InvalidInput(f"expected one of {', '.join(spec.choices)}, got {value!r}", field=name)
        return value
    if kind == "date":
        return parse_date(value, field=name)
    if kind == "ref":
        return _event_id(value, field=name)
    if kind == "refs":
        if not isinstance(value, list):
            raise InvalidInput("expected a list of event ids", field=name)
        return [_event_id(item, field=f"{name}[{i}]") for i, item in enumerate(value)]
    if kind == "actor":
        text = check_text(value, field=name, what="a state code or the name of a body")
        try:
            return normalise_state(text, field=name)
        except UnknownState:
            return text
    if kind == "changes":
        if not isinstance(value, Mapping) or not value:
            raise InvalidInput("expected an object of the corrected fields and their values", field=name)
        return dict(value)
    if kind == "slug":
        if not isinstance(value, str) or not re.fullmatch(spec.pattern, value):
            raise InvalidInput(f"expected {spec.description}, got {value!r}", field=name)
        return value
    raise InvalidInput(f"unsupported field kind {kind}", field=name)  # pragma: no cover - rules and sources are read elsewhere


def _event_id(value: Any, *, field: str) -> str:
    if isinstance(value, UUID):
        return str(value)
    if not isinstance(value, str):
        raise InvalidInput(f"expected an event id (a UUID), got {value!r}", field=field)
    try:
        return str(UUID(value))
    except ValueError:
        raise InvalidInput(f"expected an event id (a UUID), got {value!r}", field=field) from None
