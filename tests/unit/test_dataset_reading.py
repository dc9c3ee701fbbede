"""A dataset's JSON lines read as the json module reads them, whoever reads them; ids and sources checked alike however often given."""

import json
import math
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treaty_ledger.domain.errors import InvalidInput
from treaty_ledger.domain.sources import normalise_source
from treaty_ledger.store.datasets import DatasetError, _loads, read_dataset

_leaves = (st.text() | st.integers() | st.integers(min_value=-(2**80), max_value=2**80) | st.floats() | st.booleans() | st.none()
           | st.sampled_from(["\ud800", "x\udfff", "\x00"]))
_values = st.recursive(_leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                       max_leaves=20)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=500, deadline=None)
@given(value=_values, ascii_only=st.booleans())
def test_a_line_reads_as_the_json_module_reads_it(value: object, ascii_only: bool) -> None:
    line = json.dumps(value, ensure_ascii=ascii_only)
    assert _same(_loads(line), json.loads(line))


@pytest.mark.parametrize("line", ['{"a": 1E400}', '{"a": 123456789012345678901}', '{"a": -9223372036854775809}', '{"a": NaN}',
                                  '{"a": "\\ud800"}', '{"a": 1, "a": 2}', '{"a": 18446744073709551615}'])
def test_what_orjson_reads_otherwise_reads_as_json_does(line: str) -> None:
    assert _same(_loads(line), json.loads(line))


@pytest.mark.parametrize("line", ['{"a": }', "[1,]", '{"a": 1} x', "'a'", '{"a": "\x01"}'])
def test_what_is_not_json_fails_as_json_fails(line: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(line)
    with pytest.raises(json.JSONDecodeError) as got:
        _loads(line)
    assert got.value.msg == expected.value.msg


@pytest.mark.parametrize("given_id", ["6F1C1F4E-0000-4000-8000-000000000001", "{6f1c1f4e-0000-4000-8000-000000000001}",
                                      "6f1c1f4e000040008000000000000001", "6f1c1f4e-0000-4000-8000-000000000001"])
def test_an_event_lines_id_is_taken_in_its_canonical_form(tmp_path: Path, given_id: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"kind": "treaty", "id": "t"}\n' + json.dumps({"id": given_id, "type": "statement"}) + "\n")
    assert [entry.event_id for entry in read_dataset(path).entries] == ["6f1c1f4e-0000-4000-8000-000000000001"]


@pytest.mark.parametrize("given_id", [None, 7, "", "6f1c1f4e-0000-4000-8000-00000000000", "6f1c1f4e-0000-4000-8000-00000000000g"])
def test_an_event_line_without_a_uuid_is_refused_by_line(tmp_path: Path, given_id: object) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"kind": "treaty", "id": "t"}\n' + json.dumps({"id": given_id, "type": "statement"}) + "\n")
    with pytest.raises(DatasetError) as caught:
        read_dataset(path)
    assert caught.value.field == "line 2.id"


def test_a_source_given_again_is_checked_alike_and_answered_with_a_copy() -> None:
    given = {"title": "  A source ", "published_on": "2020-01-02", "publisher": "   "}
    first, second = normalise_source(given), normalise_source(dict(given))
    assert first == second == {"title": "A source", "published_on": date(2020, 1, 2)}
    assert first is not second
    first["title"] = "changed"
    assert normalise_source(given)["title"] == "A source"


@pytest.mark.parametrize("bad", [{"title": "x", "published_on": "2020-02-30"}, {"publisher": "p"}, {"title": "x", "extra": "y"},
                                 {"title": ["a list"]}, {"url": "ftp://x"}])
def test_a_bad_source_is_refused_every_time_naming_the_field(bad: dict[str, object]) -> None:
    for field in ("source", "events[3].source"):
        with pytest.raises(InvalidInput) as caught:
            normalise_source(bad, field=field)
        assert caught.value.field is not None and caught.value.field.startswith(field)
