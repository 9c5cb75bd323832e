"""`api.headers.IndexedHeaders` answers every lookup as Starlette's `Headers` does (first value of a
repeated header, names case-insensitive), from one index built per request."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers

from ccbridge.api.headers import IndexedHeaders, raw_header

NAMES = st.sampled_from([b"authorization", b"content-type", b"x-request-id", b"idempotency-key", b"x-a"])
VALUES = st.binary(min_size=0, max_size=8).map(lambda b: b.hex().encode())
LOOKUPS = st.sampled_from(
    ["Authorization", "content-type", "X-Request-Id", "IDEMPOTENCY-KEY", "x-a", "absent"]
)


@given(st.lists(st.tuples(NAMES, VALUES), max_size=8), st.lists(LOOKUPS, min_size=1, max_size=6))
def test_lookups_match_starlette(raw: list[tuple[bytes, bytes]], lookups: list[str]) -> None:
    indexed = IndexedHeaders({"headers": list(raw)})
    reference = Headers(scope={"headers": list(raw)})
    for name in lookups:
        assert indexed.get(name) == reference.get(name)
        assert indexed.get(name, "fallback") == reference.get(name, "fallback")
        assert (name in indexed) == (name in reference)
        if name in reference:
            assert indexed[name] == reference[name]
        else:
            with pytest.raises(KeyError):
                indexed[name]
        assert raw_header({"headers": raw}, name.lower().encode()) == (
            None if name not in reference else reference[name].encode("latin-1")
        )
    assert indexed.getlist("x-a") == reference.getlist("x-a")
    assert indexed.raw == reference.raw
    assert list(indexed.items()) == list(reference.items())


def test_repeated_header_answers_its_first_value() -> None:
    headers = IndexedHeaders({"headers": [(b"x-a", b"one"), (b"x-a", b"two")]})
    assert headers["X-A"] == "one"
    assert headers.getlist("x-a") == ["one", "two"]
