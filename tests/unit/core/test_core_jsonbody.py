"""`core.jsonbody`: the one reading of JSON bodies: media types, nesting, duplicate keys."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbridge.core.jsonbody import MAX_DEPTH, depth, parse_json_body, require_json_media
from ccbridge.errors import Malformed, WrongMediaType


@pytest.mark.parametrize(
    "media",
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/problem+json"],
)
def test_json_media_types_are_read(media: str) -> None:
    require_json_media(media)


@pytest.mark.parametrize(
    "media", [None, "", "text/plain", "text/json", "application/jsonx", "multipart/form-data"]
)
def test_other_media_types_name_content_type(media: str | None) -> None:
    with pytest.raises(WrongMediaType) as caught:
        require_json_media(media)
    assert [e.field for e in caught.value.errors] == ["Content-Type"]


def test_nesting_up_to_the_limit_is_read_and_one_more_is_refused() -> None:
    """`MAX_DEPTH` levels are fine; one more is Malformed on `body`, whatever the containers."""
    at_limit = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert depth(parse_json_body(at_limit)) == MAX_DEPTH
    for raw in (
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b'{"a":' * MAX_DEPTH + b"{}" + b"}" * MAX_DEPTH,
    ):
        with pytest.raises(Malformed) as caught:
            parse_json_body(raw)
        assert [e.field for e in caught.value.errors] == ["body"]


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    raw = orjson.dumps({"text": "[" * 1000 + "{" * 1000})
    assert parse_json_body(raw) == orjson.loads(raw)


def test_a_repeated_key_at_any_level_is_refused_even_spelled_as_an_escape() -> None:
    for raw in (b'{"a":1,"a":1}', b'{"x":[{"b":1,"b":2}]}', b'{"\\u0061":1,"a":2}'):
        with pytest.raises(Malformed, match="repeats the key"):
            parse_json_body(raw)
    assert parse_json_body(b'{"a":{"a":1},"b":[{"a":2}]}') == {"a": {"a": 1}, "b": [{"a": 2}]}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=4), JSON_VALUES, min_size=1, max_size=4), st.data())
def test_a_repeated_key_is_refused_in_compact_writing_too(
    obj: dict[str, object], data: st.DataObject
) -> None:
    """Compact bodies skip the duplicate scan when orjson writes them back identically; one with a
    key written twice never does, wherever the copy goes and whatever it holds."""
    compact = orjson.dumps(obj)
    assert parse_json_body(compact) == obj
    key = data.draw(st.sampled_from(sorted(obj)))
    extra = orjson.dumps(key) + b":" + orjson.dumps(data.draw(JSON_VALUES))
    at_end = compact[:-1] + b"," + extra + b"}"
    at_start = b"{" + extra + b"," + compact[1:]
    for raw in (at_end, at_start):
        with pytest.raises(Malformed, match="repeats the key"):
            parse_json_body(raw)


def test_depth_counts_containers() -> None:
    assert [depth(v) for v in (1, {}, [], {"a": [1, {"b": {}}]})] == [0, 1, 1, 4]
