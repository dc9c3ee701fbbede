"""Transcodings for the value types eventsourcing's JSON transcoder does not know."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from eventsourcing.persistence import Transcoding

from treaty_ledger.domain.records import Record

__all__ = ["DateAsISO", "RecordAsDict"]


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
        return {
            "id": obj.id,
            "treaty": obj.treaty,
            "sequence": obj.sequence,
            "type": obj.type,
            "date": obj.date,
            "fields": dict(obj.fields),
            "source": dict(obj.source),
            "recorded_at": obj.recorded_at,
            "prev_hash": obj.prev_hash,
            "hash": obj.hash,
        }

    def decode(self, data: dict[str, Any]) -> Record:
        recorded_at = data["recorded_at"]
        if isinstance(recorded_at, str):  # pragma: no cover - defensive
            recorded_at = datetime.fromisoformat(recorded_at)
        return Record(**{**data, "recorded_at": recorded_at})
