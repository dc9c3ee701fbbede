"""Recorded events as stored: the JSON the views keep is the JSON the API answers with."""

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treaty_ledger.domain.records import (
    GENESIS_HASH,
    Record,
    canonical_json,
    canonical_json_fast,
    chain_hash,
    json_default,
    json_text,
    to_json_value,
)
from treaty_ledger.domain.treaty import Treaty


def record(type_: str, fields: dict[str, object], day: date | None = date(2020, 5, 22)) -> Record:
    return Record(
        id="6f1c1f4e-0000-4000-8000-000000000001", treaty="open-skies", sequence=7, type=type_, date=day, fields=fields,
        source={"title": "Note to the depositaries — Erklärung", "accessed": date(2026, 11, 1)},
        recorded_at=datetime(2026, 11, 25, 9, 30, 0, 5, tzinfo=UTC), prev_hash=GENESIS_HASH, hash="ab" * 32,
    )


@pytest.mark.parametrize("stored", [
    record("withdrawal_notified", {"state": "USA", "effective_on": date(2020, 11, 22)}),
    record("correction", {"corrects": "6f1c1f4e-0000-4000-8000-000000000002", "changes": {"date": "2002-12-12", "towards": ["USA", "CAN"]}}, None),
    record("allegation_made", {"key": "k", "accuser": "USA", "accused": "RUS", "subject": "Kaliningrad — 500 km", "restrictions": ("a", "b")}),
])
def test_the_stored_text_is_the_json_of_the_answer(stored: Record) -> None:
    assert json.loads(stored.to_json_text()) == stored.to_json()
    assert stored.canonical() == canonical_json(stored.to_json())  # the Merkle tree's leaf data, byte for byte
    assert json.loads(stored.to_json_text())["recorded_at"] == "2026-11-25T09:30:00.000005+00:00"


@pytest.mark.parametrize("value", [
    {"b": [1, 2.5, None, True], "a": "Kaliningrad — 500 km \\ \"quoted\"\n", "day": date(2002, 1, 1)},
    {"big": 2**70, "small": -(2**70)},  # beyond 64 bits: orjson refuses, the json module takes them
    {1: "a key that is not text"},
])
def test_json_text_is_json_with_dates_as_iso_8601(value: dict[object, object]) -> None:
    expected = json.loads(json.dumps(value, default=json_default))
    assert json.loads(json_text(value)) == expected
    assert json.loads(json_text(value, sort_keys=True)) == expected
    assert list(json.loads(json_text(value, sort_keys=True))) == sorted(str(k) for k in value)


def test_timestamps_keep_their_microseconds_even_when_zero() -> None:
    assert json_text({"at": datetime(2026, 11, 25, 9, 30, tzinfo=UTC)}) == '{"at":"2026-11-25T09:30:00.000000+00:00"}'


def test_values_json_cannot_hold_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        json_default({"USA"})
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        json_text({"towards": {"USA"}})


_leaves = (st.text() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False) | st.booleans() | st.none()
           | st.dates() | st.datetimes(timezones=st.just(UTC)) | st.datetimes(timezones=st.none()))
_values = st.recursive(_leaves, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=25)


def _canonical_as_hashed_before(value: object) -> bytes:
    """The encoding every stored hash was made with (the chain's first definition)."""
    return json.dumps(to_json_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=150, deadline=None)
@given(value=st.dictionaries(st.text(max_size=8), _values, max_size=6))
def test_the_chain_encoding_is_byte_for_byte_the_one_stored_hashes_were_made_with(value: dict[str, object]) -> None:
    assert canonical_json(value) == _canonical_as_hashed_before(value)



@settings(max_examples=150, deadline=None)
@given(value=st.dictionaries(st.text(max_size=8), _values, max_size=6) | _values)
def test_the_leaves_fast_encoding_is_byte_for_byte_the_chain_encoding(value: object) -> None:
    assert canonical_json_fast(value) == canonical_json(value)


def test_the_fast_encoding_writes_every_code_point_and_key_order_as_the_json_module() -> None:
    text = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF)
    keys = {chr(i): i for i in (0, 0x1F, 0x7F, 0xE9, 0x2028, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF)}
    for value in ({"all": text}, keys, {"a": [1, 2**63 - 1, -(2**63), 2**64 - 1, True, None, ("x", date(2020, 1, 1))]}):
        assert canonical_json_fast(value) == canonical_json(value)


@pytest.mark.parametrize("value", [
    {"float": 1e16}, {"float": 1e-7}, {"nan": float("nan")}, {"big": 2**64}, {1: "key"}, {"nested": {"deep": [0.1]}},
])
def test_values_orjson_would_write_otherwise_go_through_the_json_module(value: dict[object, object]) -> None:
    assert canonical_json_fast(value) == canonical_json(value)


def test_a_lone_surrogate_fails_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):
        canonical_json_fast({"text": "\ud800"})


@settings(max_examples=200, deadline=None)
@given(fields=st.dictionaries(st.text(max_size=8), _values, max_size=4), day=st.none() | st.dates())
def test_an_events_leaf_data_is_its_records_canonical_encoding(fields: dict[str, object], day: date | None) -> None:
    event = Treaty.EventRecorded(originator_id=uuid4(), originator_version=3, timestamp=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
                                 event_id="6f1c1f4e-0000-4000-8000-000000000001", event_type="statement", date=day, fields=fields,
                                 source={"title": "Erklärung", "accessed": date(2026, 11, 1)}, sequence=2, prev_hash=GENESIS_HASH, hash="ab" * 32)
    assert event.canonical("open-skies") == event.to_record("open-skies").canonical() == canonical_json(event.to_record("open-skies").to_json())


_texts = st.text() | st.sampled_from(["open-skies", "signed", "6f1c1f4e-0000-4000-8000-000000000001", "Erklärung — \"x\"\n\\"])


@settings(max_examples=150, deadline=None)
@given(id_=_texts, treaty=_texts, sequence=st.integers(min_value=-(2**70), max_value=2**70), type_=_texts,
       day=st.none() | st.dates(), fields=st.dictionaries(st.text(max_size=8), _values, max_size=5),
       source=st.dictionaries(st.text(max_size=8), _values, max_size=3),
       recorded_at=st.datetimes(timezones=st.just(UTC)) | st.datetimes(timezones=st.none()), prev_hash=_texts)
def test_a_records_hash_is_that_of_its_content_encoded_as_stored_hashes_were(
        id_: str, treaty: str, sequence: int, type_: str, day: date | None, fields: dict[str, object], source: dict[str, object],
        recorded_at: datetime, prev_hash: str) -> None:
    stored = Record(id=id_, treaty=treaty, sequence=sequence, type=type_, date=day, fields=fields, source=source,
                    recorded_at=recorded_at, prev_hash=prev_hash)
    expected = hashlib.sha256(_canonical_as_hashed_before({"content": stored.content(), "prev_hash": prev_hash})).hexdigest()
    assert stored.computed_hash() == expected
    assert chain_hash(stored.content(), prev_hash) == expected


@pytest.mark.parametrize("odd", [
    {"sequence": True}, {"date": datetime(2020, 1, 1, tzinfo=UTC)}, {"fields": [("state", "USA")]}, {"id": 7},
    {"recorded_at": "2026-11-25T09:30:00+00:00"},
])
def test_a_record_holding_a_value_of_an_unusual_type_hashes_as_its_content_does(odd: dict[str, object]) -> None:
    stored = replace(record("signed", {"state": "USA"}), **odd)
    try:
        expected: object = chain_hash(stored.content(), stored.prev_hash)
    except Exception as error:  # the same failure either way
        expected = type(error)
    try:
        got: object = stored.computed_hash()
    except Exception as error:
        got = type(error)
    assert got == expected
