"""A batch's table rows, and PostgreSQL's COPY text of them.

:class:`BatchRows` is what one batch (a catch-up's, or a rebuild window's) writes to the views:
new treaties and records, interval rows to insert, and stored rows to close. A rebuild's workers
send theirs packed as COPY text (:meth:`BatchRows.pack`), so the writing process only passes
bytes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from treaty_ledger.domain.dates import iso_day
from treaty_ledger.domain.records import to_json_value
from treaty_ledger.projections.intervals import Interval
from treaty_ledger.projections.projector import Change, Registration

__all__ = ["BEGINNING", "BatchRows", "copy_text"]

BEGINNING = date(1, 1, 1)
"""The ``since`` stored for a row that holds from the beginning (read back as ``None``)."""


@dataclass
class BatchRows:
    """What a batch writes, as table rows: new treaties and records, interval rows to insert and to close.

    Interval rows get their ids here. A row started and ended within the batch is inserted
    with both recorded-time bounds; a row stored by an earlier batch is closed by id.
    :meth:`pack` turns the records and inserts into PostgreSQL's COPY text (what a rebuild's
    workers send, so that the writing process only passes bytes on).
    """

    treaties: list[tuple[Any, ...]] = field(default_factory=list)
    records: list[tuple[Any, ...]] = field(default_factory=list)
    inserts: list[list[Any]] = field(default_factory=list)
    closes: list[tuple[Any, int]] = field(default_factory=list)
    packed_records: bytes = b""
    packed_inserts: bytes = b""

    @classmethod
    def of(cls, items: Iterable[Registration | Change], ids: Iterator[int], day: Callable[[date | None], Any],
           stamp: Callable[[datetime], Any]) -> BatchRows:
        """The rows of ``items``; new interval rows take their ids from ``ids``."""
        batch = cls()
        pending: dict[int, list[Any]] = {}

        def start(treaty: str, rows: Iterable[Interval], known_from: Any) -> None:
            for row in rows:
                row_id = next(ids)
                row.stored_as(row_id)
                entry = [row_id, treaty, row.kind, row.key, day(row.since or BEGINNING), day(row.until), known_from, None, row.text]
                pending[row_id] = entry
                batch.inserts.append(entry)

        for item in items:
            if isinstance(item, Registration):
                batch.treaties.append((item.treaty, item.uuid, json.dumps(item.rules.to_json()), json.dumps(to_json_value(item.doc))))
                start(item.treaty, item.rows, stamp(item.recorded_at))
                continue
            r = item.record
            known = stamp(r.recorded_at)
            batch.records.append((r.treaty, r.sequence, r.id, r.type, day(r.date), r.state, known, r.to_json_text()))
            for row in item.ended:
                if not row.row_id:
                    raise ValueError(f"{r.treaty}: event {r.id} ends a {row.kind} row that was never stored")
                entry = pending.pop(row.row_id, None)
                if entry is not None:
                    entry[7] = known
                else:
                    batch.closes.append((known, row.row_id))
            start(r.treaty, item.started, known)
        return batch

    def extend(self, other: BatchRows) -> None:
        """Add ``other``'s rows (prepared with ids that do not collide with these)."""
        self.treaties += other.treaties
        self.records += other.records
        self.inserts += other.inserts
        self.closes += other.closes
        self.packed_records += other.packed_records
        self.packed_inserts += other.packed_inserts

    def pack(self) -> None:
        """Move the records and inserts into COPY text (PostgreSQL's ``COPY ... FROM STDIN`` format)."""
        self.packed_records += copy_text(self.records)
        self.packed_inserts += copy_text(self.inserts)
        self.records, self.inserts = [], []


def _copy_value(value: Any) -> str:
    """One value as COPY text writes it."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        # Four scans for the special characters cost far less than mapping every character.
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return value
    if type(value) is date:
        return iso_day(value)
    if isinstance(value, date):  # a timestamp (a datetime is a date)
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"cannot COPY a {type(value).__name__}")


def copy_text(rows: Iterable[Sequence[Any]]) -> bytes:
    """``rows`` as COPY text: tab-separated values, one row a line, ``\\N`` for NULL."""
    return "".join("\t".join(map(_copy_value, row)) + "\n" for row in rows).encode()
