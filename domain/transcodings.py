"""Transcodings for the value types eventsourcing's JSON transcoder does not know."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from treaty_ledger.domain.records import Record, compact_encoder

__all__ = ["DateAsISO", "LedgerTranscoder", "RecordAsDict"]


class LedgerTranscoder(JSONTranscoder):
    """eventsourcing's JSON transcoder, writing and reading the same bytes with less Python around json's C code.

    The library's ``encode`` goes through ``JSONEncoder.encode``, which makes a new C encoder
    and Python closures for every event; this one makes the C encoder once, with the same
    settings (compact separators, ``ensure_ascii=False``, the transcodings as ``default``),
    without the check for circular references (an event's state holds none). ``decode`` calls
    the C scanner directly, and hands anything it does not read whole to the library's
    ``decode``, which raises json's own error.
    """

    def __init__(self) -> None:
        super().__init__()
        self._text = compact_encoder(self._encode_obj, sort_keys=False)
        self._scan_once = self.decoder.scan_once  # type: ignore[attr-defined]

    def encode(self, obj: Any) -> bytes:
        return self._text(obj).encode("utf8")

    def decode(self, data: bytes) -> Any:
        text = data.decode("utf8")
        try:
            value, end = self._scan_once(text, 0)
        except StopIteration:
            return super().decode(data)
        if end != len(text):
            return super().decode(data)  # white space after the value, or more data (an error)
        return value


class DateAsISO(Transcoding):
    """A calendar date as ``YYYY-MM-DD``."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class RecordAsDict(Transcoding):
    """A recorded event (held in treaty snapshots) as a mapping of its fields."""

    type = Record
    name = "treaty_record"

    def encode(self, obj: Record) -> dict[str, Any]:
        # The date and the time are given as their own transcodings write them (``date_iso``,
        # eventsourcing's ``datetime_iso``): the same bytes, without two calls back per record
        # from json's encoder (a snapshot holds every record of the treaty).
        day, at = obj.date, obj.recorded_at
        return {
            "id": obj.id,
            "treaty": obj.treaty,
            "sequence": obj.sequence,
            "type": obj.type,
            "date": {"_type_": "date_iso", "_data_": day.isoformat()} if type(day) is date else day,
            "fields": dict(obj.fields),
            "source": dict(obj.source),
            "recorded_at": {"_type_": "datetime_iso", "_data_": at.isoformat()} if type(at) is datetime else at,
            "prev_hash": obj.prev_hash,
            "hash": obj.hash,
        }

    def decode(self, data: dict[str, Any]) -> Record:
        recorded_at = data["recorded_at"]
        if isinstance(recorded_at, str):  # pragma: no cover - defensive
            recorded_at = datetime.fromisoformat(recorded_at)
        return Record(**{**data, "recorded_at": recorded_at})
