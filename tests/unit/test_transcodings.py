"""The ledger's transcoder writes and reads exactly what eventsourcing's JSON transcoder does."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given, settings
from hypothesis import strategies as st

from treaty_ledger.domain.records import GENESIS_HASH, Record
from treaty_ledger.domain.transcodings import DateAsISO, LedgerTranscoder, RecordAsDict


def _registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO(), RecordAsDict()):
        transcoder.register(transcoding)
    return transcoder


LIBRARY = _registered(JSONTranscoder())
LEDGER = _registered(LedgerTranscoder())

_records = st.builds(
    Record, id=st.text(max_size=8), treaty=st.text(max_size=8), sequence=st.integers(0, 10**6), type=st.text(max_size=8),
    date=st.none() | st.dates(), fields=st.dictionaries(st.text(max_size=6), st.text(max_size=6) | st.dates(), max_size=3),
    source=st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2), recorded_at=st.datetimes(timezones=st.just(UTC)),
    prev_hash=st.just(GENESIS_HASH), hash=st.text(max_size=4),
)
_leaves = (st.text() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.booleans() | st.none() | st.dates()
           | st.datetimes(timezones=st.just(UTC)) | st.uuids() | st.decimals(allow_nan=False) | _records)
_states = st.dictionaries(st.text(max_size=8), st.recursive(_leaves, lambda inner: st.lists(inner, max_size=4)
                                                             | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20))


@settings(max_examples=150, deadline=None)
@given(state=_states)
def test_the_ledgers_transcoder_writes_the_librarys_bytes_and_reads_them_back_alike(state: dict[str, object]) -> None:
    stored = LIBRARY.encode(state)
    assert LEDGER.encode(state) == stored
    assert repr(LEDGER.decode(stored)) == repr(LIBRARY.decode(stored))  # repr: NaN is not equal to itself


def test_a_snapshots_records_read_back_as_records() -> None:
    record = Record(id="e", treaty="t", sequence=1, type="signed", date=date(2020, 1, 2), fields={"state": "USA"}, source={"title": "s"},
                    recorded_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), prev_hash=GENESIS_HASH, hash="h")
    stored = LEDGER.encode({"records": [record], "id": UUID(int=5), "amount": Decimal("1.5")})
    assert LEDGER.decode(stored) == {"records": [record], "id": UUID(int=5), "amount": Decimal("1.5")}


@pytest.mark.parametrize("data", [b'{"a":1} x', b' {"a":1} ', b"", b'{"a":', b"nul", b"[1,]", b'{"a":1}\n'])
def test_bytes_that_are_not_one_json_value_fail_or_read_as_the_library_reads_them(data: bytes) -> None:
    def outcome(transcoder: JSONTranscoder) -> object:
        try:
            return transcoder.decode(data)
        except json.JSONDecodeError as error:
            return str(error)
    assert outcome(LEDGER) == outcome(LIBRARY)
