"""Registering a treaty: its id, title, depositaries, rules and source, defined once.

:data:`TREATY_FIELDS` is the catalogue entry of a registration; :func:`normalise_registration`
checks a client's registration by it, and the JSON Schema and the reference documentation are
read off it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from treaty_ledger.domain.errors import InvalidInput
from treaty_ledger.domain.fields import FieldSpec, normalise_value
from treaty_ledger.domain.rules import TreatyRules
from treaty_ledger.domain.sources import normalise_source

__all__ = ["TREATY_FIELDS", "TREATY_ID_PATTERN", "Registration", "normalise_registration", "normalise_treaty_id"]

TREATY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,99}$"
"""A treaty id: a lowercase slug of letters, digits and hyphens, such as ``open-skies``."""

MAX_TITLE = 1000
"""The longest title a treaty takes, in characters."""

_ID = FieldSpec("id", "slug", "a lowercase slug of letters, digits and hyphens (e.g. 'open-skies')", required=True,
                pattern=TREATY_ID_PATTERN)

TREATY_FIELDS: tuple[FieldSpec, ...] = (
    _ID,
    FieldSpec("title", "text", "the treaty's title", required=True, max_length=MAX_TITLE),
    FieldSpec("depositaries", "states", "the depositary states"),
    FieldSpec("rules", "rules", "how recorded acts turn into legal effects (each rule optional)"),
    FieldSpec("source", "source", "where the treaty's text comes from", required=True),
)
"""The fields of a treaty's registration."""

_NAMES = ", ".join(spec.name for spec in TREATY_FIELDS)


@dataclass(frozen=True, slots=True)
class Registration:
    """A treaty's registration, checked and in canonical form."""

    id: str
    title: str
    depositaries: list[str]
    rules: TreatyRules
    source: dict[str, Any]


def normalise_treaty_id(value: Any, *, field: str = "id") -> str:
    """Check a treaty id: a lowercase slug such as ``open-skies``."""
    return str(normalise_value(_ID, value, field=field))


def normalise_registration(payload: Any) -> Registration:
    """Check a client's registration ``{"id", "title", "depositaries", "rules", "source"}``."""
    if not isinstance(payload, Mapping):
        raise InvalidInput("expected an object describing the treaty", field="body")
    unknown = sorted(set(payload) - {spec.name for spec in TREATY_FIELDS})
    if unknown:
        raise InvalidInput(f"a treaty has no field {unknown[0]!r} (it takes {_NAMES})", field=unknown[0])
    slug = normalise_treaty_id(payload.get("id"))
    title = payload.get("title")
    if title is None or title == "":
        raise InvalidInput("a treaty needs a title", field="title")
    return Registration(
        id=slug,
        title=normalise_value(TREATY_FIELDS[1], title),
        depositaries=normalise_value(TREATY_FIELDS[2], payload.get("depositaries") or []),
        rules=TreatyRules.from_input(payload.get("rules")),
        source=normalise_source(payload.get("source")),
    )
