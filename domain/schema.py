"""JSON Schema of what a client sends, derived from the catalogue (:mod:`treaty_ledger.domain.events`).

Every constraint the ledger enforces at the door and that JSON Schema can state is stated here:
required fields, kinds, patterns, non-empty text, enumerations, date formats, lengths. The
HTTP API publishes these schemas in its OpenAPI document; ``docs/events.md`` is generated from
the same catalogue (:mod:`treaty_ledger.domain.reference`). What JSON Schema cannot state (that a
state code exists in ISO 3166, that a date is a real calendar day, the checks against the
treaty's timeline) the descriptions say in words.

Schemas refer to one another as ``{ref_prefix}Name`` (``#/$defs/`` by default;
``#/components/schemas/`` in an OpenAPI document).
"""

from __future__ import annotations

from typing import Any

from treaty_ledger.domain.events import COMMON_FIELDS, EVENT_TYPES, EventType, FieldSpec
from treaty_ledger.domain.registration import TREATY_FIELDS
from treaty_ledger.domain.rules import ALIGNMENTS, RULES, RuleSpec
from treaty_ledger.domain.sources import SOURCE_FIELDS
from treaty_ledger.domain.text import MAX_TEXT, TEXT_PATTERN

__all__ = ["DATE_PATTERN", "DURATION_PATTERN", "STATE_DOC", "event_schema", "event_schema_name", "request_schemas"]

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""A calendar date as the ledger reads one: ``YYYY-MM-DD`` (it must also be a real day)."""

DURATION_PATTERN = r"^P(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+W)?(?:[0-9]+D)?$"
"""An ISO 8601 duration of years, months, weeks and days (``P6M``, ``P60D``, ``P1Y``; not ``P``)."""

STATE_DOC = "ISO 3166-1 alpha-3 code (USA), ISO 3166-3 code of a historic state (CSHH), alpha-2 code or English name"

_UUID = {"type": "string", "format": "uuid", "description": "an event id (UUID)"}


def _text(spec: FieldSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": spec.max_length or MAX_TEXT, "pattern": TEXT_PATTERN}
    if spec.pattern:
        schema["allOf"] = [{"pattern": spec.pattern}]
    return schema


def _state() -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": 200, "pattern": TEXT_PATTERN}


def _value_schema(spec: FieldSpec, ref_prefix: str) -> dict[str, Any]:
    """The schema of one field's value, by its kind."""
    kind = spec.kind
    if kind == "state":
        schema = _state()
    elif kind == "states":
        schema = {"type": "array", "items": _state(), "uniqueItems": True, "minItems": 1 if spec.required else 0}
    elif kind in ("text", "actor"):
        schema = _text(spec)
    elif kind == "texts":
        schema = {"type": "array", "items": _text(spec)}
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "choice":
        schema = {"type": "string", "enum": list(spec.choices)}
    elif kind == "date":
        schema = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
    elif kind == "ref":
        schema = dict(_UUID)
    elif kind == "refs":
        schema = {"type": "array", "items": dict(_UUID)}
    elif kind == "changes":
        schema = {"type": "object", "minProperties": 1}
    elif kind == "slug":
        schema = {"type": "string", "pattern": spec.pattern}
    elif kind == "rules":
        schema = {"$ref": f"{ref_prefix}Rules"}
    elif kind == "source":
        schema = {"$ref": f"{ref_prefix}Source"}
    else:  # pragma: no cover - a kind the catalogue added without a schema
        raise ValueError(f"no JSON Schema for field kind {kind!r}")
    return schema


def _described(spec: FieldSpec, ref_prefix: str) -> dict[str, Any]:
    schema = _value_schema(spec, ref_prefix)
    description = spec.description
    if spec.kind in ("state", "states"):
        description += f" ({STATE_DOC})"
    if spec.refers_to:
        description += f" (the id of a {' or '.join(spec.refers_to)} event)"
    if "$ref" in schema:
        return {"allOf": [schema], "description": description}
    if spec.required:
        return {**schema, "description": description}
    absent: list[dict[str, Any]] = [{"type": "null"}]
    if schema.get("type") == "string":
        absent.insert(0, {"type": "string", "maxLength": 0})  # "" is taken as absent, as null is
    return {"anyOf": [schema, *absent], "description": description}


def event_schema_name(spec: EventType) -> str:
    """The schema's name: ``signed`` -> ``SignedCreate``."""
    return "".join(part.capitalize() for part in spec.name.split("_")) + "Create"


def event_schema(spec: EventType, *, ref_prefix: str = "#/$defs/") -> dict[str, Any]:
    """The JSON Schema of a request to record an event of type ``spec``."""
    properties: dict[str, Any] = {"type": {"type": "string", "const": spec.name, "description": spec.description}}
    required = ["type"]
    if spec.dated:
        properties["date"] = {"type": "string", "format": "date", "pattern": DATE_PATTERN,
                              "description": "the effective date (YYYY-MM-DD): when it happened or takes effect; not after the day it is recorded"}
        required.append("date")
    for field_spec in (*spec.fields, *COMMON_FIELDS):
        properties[field_spec.name] = _described(field_spec, ref_prefix)
        if field_spec.required:
            required.append(field_spec.name)
    properties["source"] = {"allOf": [{"$ref": f"{ref_prefix}Source"}], "description": "where the fact comes from"}
    required.append("source")
    schema: dict[str, Any] = {
        "title": event_schema_name(spec),
        "description": spec.description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if spec.one_of:
        schema["anyOf"] = [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in spec.one_of]
    return schema


def _rule_schema(rule: RuleSpec) -> dict[str, Any]:
    duration = {"type": "string", "pattern": DURATION_PATTERN}
    optional_duration = {"anyOf": [duration, {"type": "null"}]}
    alignment = {"type": "string", "enum": list(ALIGNMENTS)}
    value: dict[str, Any]
    if rule.kind == "duration":
        value = dict(duration)
    elif rule.kind == "count":
        value = {"type": "integer", "minimum": rule.minimum}
    elif rule.kind == "alignment":
        value = alignment
    elif rule.kind == "extension":
        value = {"type": "object", "properties": {"max_period": duration, "times": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}},
                 "required": ["max_period"], "additionalProperties": False}
    else:
        value = {"type": "object", "additionalProperties": False, "properties": {
            "instruments": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
            "required_states": {"anyOf": [{"type": "array", "items": _state(), "uniqueItems": True}, {"type": "null"}]},
            "delay": optional_duration,
            "alignment": {"anyOf": [alignment, {"type": "null"}]},
        }, "anyOf": [  # instruments, required states or both
            {"required": ["instruments"], "properties": {"instruments": {"type": "integer"}}},
            {"required": ["required_states"], "properties": {"required_states": {"type": "array", "minItems": 1}}},
        ]}
    value["examples"] = list(rule.examples)
    return {"anyOf": [value, {"type": "null"}], "description": rule.description}


def _object(title: str, description: str, fields: tuple[FieldSpec, ...], ref_prefix: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "type": "object",
        "properties": {f.name: _described(f, ref_prefix) for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
    }


def request_schemas(*, ref_prefix: str = "#/$defs/") -> dict[str, dict[str, Any]]:
    """Every schema a client's request body is checked against, by name.

    ``Source``, ``Rules``, ``TreatyCreate``, one ``<Type>Create`` per event type, and
    ``EventCreate``: one of the event types, told apart by ``type``.
    """
    source = _object("Source", "where a fact comes from: a title or a url is required", SOURCE_FIELDS, ref_prefix)
    source["anyOf"] = [{"required": ["title"], "properties": {"title": {"type": "string"}}},
                       {"required": ["url"], "properties": {"url": {"type": "string"}}}]
    schemas: dict[str, dict[str, Any]] = {
        "Source": source,
        "Rules": {
            "title": "Rules",
            "description": "a treaty's rules; null or absent where the treaty has no such rule",
            "type": "object",
            "properties": {rule.name: _rule_schema(rule) for rule in RULES},
            "additionalProperties": False,
        },
        "TreatyCreate": _object("TreatyCreate", "a treaty to register", TREATY_FIELDS, ref_prefix),
    }
    names = {}
    for spec in EVENT_TYPES.values():
        names[spec.name] = event_schema_name(spec)
        schemas[names[spec.name]] = event_schema(spec, ref_prefix=ref_prefix)
    schemas["EventCreate"] = {
        "title": "EventCreate",
        "description": "an event to record: one of the types of the catalogue, told apart by `type`",
        "oneOf": [{"$ref": f"{ref_prefix}{name}"} for name in names.values()],
        "discriminator": {"propertyName": "type", "mapping": {kind: f"{ref_prefix}{name}" for kind, name in names.items()}},
    }
    return schemas
