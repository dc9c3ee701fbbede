"""A dataset's JSON lines read as the json module reads them, whoever reads them."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treaty_ledger.store.datasets import _loads

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
