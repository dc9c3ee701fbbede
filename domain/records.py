"""Recorded events as the ledger holds them, their canonical encoding and hash chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from json.encoder import encode_basestring
from typing import Any

import orjson

from treaty_ledger.domain.dates import iso_day

__all__ = ["GENESIS_HASH", "Record", "canonical_json", "canonical_json_fast", "chain_hash", "compact_encoder", "json_default", "json_text", "record_body",
           "to_json_value"]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of a treaty's registration: the start of its chain."""


def to_json_value(value: Any) -> Any:
    """Turn dates, timestamps and nested containers into JSON values (dates as ISO 8601 text)."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool or kind is float:
        return value
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return iso_day(value)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


def json_default(value: Any) -> Any:
    """``json.dumps``'s hook for what JSON lacks: the same text as :func:`to_json_value` first, faster."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return iso_day(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """``value`` as compact JSON text: dates as ISO 8601, timestamps to the microsecond.

    orjson writes it, several times faster than the json module (the views store one text per
    event and per row); what orjson refuses but JSON can hold (integers beyond 64 bits) goes
    through the json module instead. Not the hash chain's encoding: see :func:`canonical_json`.
    """
    option = orjson.OPT_PASSTHROUGH_DATETIME | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, default=json_default, option=option).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, default=json_default, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> bytes:
    """The canonical encoding hashed by the chain: sorted keys, no spaces, UTF-8.

    The bytes are those of ``json.dumps(to_json_value(value), sort_keys=True, ...)``, which every
    stored hash was made with; :func:`json_default` writes the dates and timestamps as
    :func:`to_json_value` does, without building the converted copy first. Keys must be text,
    as they are wherever a hash is made (they come from JSON, or are the ledger's own names):
    the json module would write a key ``True`` as ``true`` where the first encoding wrote
    ``True``. (``tests/unit/test_records.py`` holds the two encodings equal on random values.)
    """
    return _canonical_text(value).encode()


def compact_encoder(default: Callable[[Any], Any], *, sort_keys: bool) -> Callable[[Any], str]:
    """What ``json.dumps(value, default=default, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)`` writes, from
    json's C encoder made once.

    ``json.dumps`` makes a new encoder, and the Python closures around it, for every value it
    writes; those cost as much as writing a record. The one made here writes the same text
    (the C encoder is what ``json.dumps`` uses), without the check for circular references,
    which no value the ledger writes (read from JSON, or built by the ledger) can hold.
    """
    make = json.encoder.c_make_encoder  # type: ignore[attr-defined]
    if make is None:  # pragma: no cover - a Python without json's C accelerator
        return lambda value: json.dumps(value, default=default, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)
    encode = make(None, default, encode_basestring, None, ":", ",", sort_keys, False, True)

    def text(value: Any) -> str:
        if isinstance(value, str):
            return encode_basestring(value)  # as json.dumps writes a lone string
        return "".join(encode(value, 0))

    return text


_canonical_text = compact_encoder(json_default, sort_keys=True)
""":func:`canonical_json` as text."""


_ORJSON_SCALARS = frozenset({str, int, bool, type(None), date, datetime})
"""The types orjson writes byte for byte as :func:`canonical_json` does (integers beyond 64 bits it refuses)."""
_CANONICAL_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _orjson_writes_it_canonically(value: Any) -> bool:
    """Whether ``value`` holds only text-keyed dicts, lists, tuples and :data:`_ORJSON_SCALARS` (no floats: the two libraries write
    some differently, ``1e+16`` against ``1e16``, and NaN)."""
    kind = type(value)
    if kind in _ORJSON_SCALARS:
        return True
    if kind is dict:
        return all(type(key) is str and _orjson_writes_it_canonically(item) for key, item in value.items())
    if kind is list or kind is tuple:
        return all(_orjson_writes_it_canonically(item) for item in value)
    return False


def canonical_json_fast(value: Any) -> bytes:
    """:func:`canonical_json`, byte for byte, written by orjson when the value allows (about half the time; the Merkle tree's leaves).

    orjson sorts keys by code point and escapes text as the json module does with ``ensure_ascii=False`` (checked over every
    code point), and dates go through :func:`json_default` as there. Anything else (floats, keys that are not text, mappings
    that are not dicts, integers beyond 64 bits, text orjson refuses) goes through :func:`canonical_json` itself.
    """
    if _orjson_writes_it_canonically(value):
        try:
            return orjson.dumps(value, default=json_default, option=_CANONICAL_OPTIONS)
        except orjson.JSONEncodeError:
            pass
    return canonical_json(value)


def chain_hash(content: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over the canonical encoding of ``content`` (which includes its recorded time) and ``prev_hash``."""
    return hashlib.sha256(canonical_json({"content": content, "prev_hash": prev_hash})).hexdigest()


@dataclass(frozen=True, slots=True)
class Record:
    """One recorded event of a treaty, as stored: content, place in the history and hash."""

    id: str
    treaty: str
    sequence: int
    type: str
    date: date | None
    fields: Mapping[str, Any]
    source: Mapping[str, Any]
    recorded_at: datetime
    prev_hash: str
    hash: str = field(default="")

    def __deepcopy__(self, memo: dict[int, Any]) -> Record:
        """Records are immutable: copies of a treaty share them (keeps cache copies cheap)."""
        return self

    def content(self) -> dict[str, Any]:
        """Everything the hash covers, except the previous hash."""
        return {
            "id": self.id,
            "treaty": self.treaty,
            "sequence": self.sequence,
            "type": self.type,
            "date": self.date,
            "fields": dict(self.fields),
            "source": dict(self.source),
            "recorded_at": self.recorded_at,
        }

    def computed_hash(self) -> str:
        """The hash this record should carry, recomputed from its content."""
        return chain_hash(self.content(), self.prev_hash)

    @property
    def state(self) -> str | None:
        """The acting state, for events of one state."""
        value = self.fields.get("state")
        return value if isinstance(value, str) else None

    def to_json(self) -> dict[str, Any]:
        """The event as the API answers it: every field sent, plus the ledger's own."""
        return to_json_value(self._body())  # type: ignore[no-any-return]

    def canonical(self) -> bytes:
        """:func:`canonical_json` of :meth:`to_json`, without building it first (a leaf of the Merkle tree is its hash)."""
        return canonical_json_fast(self._body(formatted=True))  # its dates as json_default writes them

    def to_json_text(self) -> str:
        """The JSON text of :meth:`to_json`, without building the intermediate values (the views store it)."""
        return json_text(self._body(formatted=True))

    def _body(self, *, formatted: bool = False) -> dict[str, Any]:
        return record_body(self.id, self.treaty, self.sequence, self.type, self.date, self.fields, self.source, self.recorded_at,
                           self.prev_hash, self.hash, formatted=formatted)


def record_body(id: str, treaty: str, sequence: int, type: str, day: date | None, fields: Mapping[str, Any],  # noqa: A002
                source: Mapping[str, Any], recorded_at: datetime, prev_hash: str, hash: str, *, formatted: bool) -> dict[str, Any]:  # noqa: A002
    """A record's JSON object (:meth:`Record.to_json` before its values are converted), from its parts: for a record, or for an
    aggregate event without making one (the Merkle tree's leaf of each write, :meth:`Record.canonical`)."""
    body: dict[str, Any] = {"id": id, "treaty": treaty, "sequence": sequence, "type": type}
    if day is not None:
        body["date"] = iso_day(day) if formatted else day
    body.update(fields)
    body.update(
        source=source,
        recorded_at=recorded_at.isoformat(timespec="microseconds") if formatted else recorded_at,
        prev_hash=prev_hash,
        hash=hash,
    )
    return body
