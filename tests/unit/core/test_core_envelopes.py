"""Published event bodies of both dialects -> Envelope, and every error with its field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbridge.core.envelopes import Envelope, parse_event_body
from ccbridge.errors import InputError

CXONE: dict[str, Any] = {
    "eventType": "OrderCreated",
    "attributes": {"orderId": "ORD-1234567890", "totalAmount": 150.75},
    "timestamp": "2024-05-01T12:00:00Z",
}
GENESYS: dict[str, Any] = {
    "eventType": "custom.legacy.order.created",
    "eventTime": "2024-05-01T12:00:00.123+02:00",
    "source": {"system": "erp", "version": "4.2"},
    "data": {"orderId": "A-1"},
}


def known(event_type: str) -> bool:
    return event_type == "OrderCreated" or event_type.startswith("custom.")


def parse(body: Any) -> Envelope:
    return parse_event_body(body, known, "ccbridge-api")


def errors_of(body: Any) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as caught:
        parse(body)
    return [(e.field, e.message) for e in caught.value.errors]


def test_cxone_body_seed_004() -> None:
    """`{eventType, attributes, timestamp}`: attributes are the data, the source is the server's default."""
    assert parse(CXONE) == Envelope(
        "OrderCreated", "2024-05-01T12:00:00Z", "ccbridge-api", CXONE["attributes"], "cxone"
    )


def test_genesys_body_seed_003() -> None:
    """`{eventType, eventTime, source, data}`: the source (an object here) is kept as sent."""
    assert parse(GENESYS) == Envelope(
        "custom.legacy.order.created",
        "2024-05-01T12:00:00.123+02:00",
        GENESYS["source"],
        GENESYS["data"],
        "genesys",
    )
    assert parse({**GENESYS, "source": "erp"}).source == "erp"


def test_a_mixed_body_is_read_as_cxone() -> None:
    """A body with CXone's attributes or timestamp is CXone, so Genesys keys in it are unknown fields."""
    assert errors_of({**CXONE, "source": "x"}) == [("source", "unknown field")]


ERRORS: list[tuple[str, dict[str, Any], str, str]] = [
    ("cx-type-missing", {k: v for k, v in CXONE.items() if k != "eventType"}, "eventType", "is required"),
    ("cx-type-blank", {**CXONE, "eventType": ""}, "eventType", "non-empty string"),
    ("cx-type-long", {**CXONE, "eventType": "x" * 257}, "eventType", "at most 256"),
    ("cx-type-unknown", {**CXONE, "eventType": "Nope"}, "eventType", "unknown event type 'Nope'"),
    (
        "cx-attributes-missing",
        {k: v for k, v in CXONE.items() if k != "attributes"},
        "attributes",
        "required",
    ),
    ("cx-attributes-list", {**CXONE, "attributes": [1]}, "attributes", "must be an object"),
    ("cx-time-missing", {k: v for k, v in CXONE.items() if k != "timestamp"}, "timestamp", "RFC 3339"),
    ("cx-time-date", {**CXONE, "timestamp": "2024-05-01"}, "timestamp", "RFC 3339"),
    ("cx-unknown", {**CXONE, "extra": 1}, "extra", "unknown field"),
    ("gen-type-not-custom", {**GENESYS, "eventType": "OrderCreated"}, "eventType", "must start with custom."),
    ("gen-data-missing", {k: v for k, v in GENESYS.items() if k != "data"}, "data", "required"),
    ("gen-data-string", {**GENESYS, "data": "x"}, "data", "must be an object"),
    ("gen-source-missing", {k: v for k, v in GENESYS.items() if k != "source"}, "source", "required"),
    ("gen-source-empty", {**GENESYS, "source": ""}, "source", "required"),
    ("gen-source-number", {**GENESYS, "source": 3}, "source", "required"),
    ("gen-time-missing", {k: v for k, v in GENESYS.items() if k != "eventTime"}, "eventTime", "required"),
    ("gen-time-no-offset", {**GENESYS, "eventTime": "2024-05-01T12:00:00"}, "eventTime", "RFC 3339"),
    ("gen-unknown", {**GENESYS, "attributesX": {}}, "attributesX", "unknown field"),
]


@pytest.mark.parametrize(("body", "field", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_each_error_names_its_field(body: dict[str, Any], field: str, message: str) -> None:
    ((at, text),) = errors_of(body)
    assert at == field and message in text


def test_every_error_at_once() -> None:
    """An empty object misses all three CXone fields, reported together."""
    assert [f for f, _ in errors_of({})] == ["eventType", "attributes", "timestamp"]


@pytest.mark.parametrize("body", [None, [CXONE], "x"])
def test_not_an_object(body: Any) -> None:
    with pytest.raises(InputError) as caught:
        parse(body)
    assert caught.value.title == "the body must be a JSON object"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(
    st.dictionaries(
        st.sampled_from(["eventType", "attributes", "timestamp", "eventTime", "source", "data", "other"]),
        json_values,
        max_size=6,
    )
)
def test_any_json_body_is_parsed_or_refused(body: dict[str, Any]) -> None:
    """Whatever JSON arrives, the answer is an Envelope or an InputError naming fields (never a crash)."""
    try:
        envelope = parse(body)
    except InputError as exc:
        assert exc.errors
    else:
        assert envelope.type and isinstance(envelope.data, dict)
