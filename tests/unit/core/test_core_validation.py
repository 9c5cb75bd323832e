"""The field checks the body parsers share: each records an error at its path and lets parsing go on."""

from __future__ import annotations

from typing import Any

import pytest

from ccbridge.core.validation import Errors, is_rfc3339, url_problem
from ccbridge.errors import FieldError


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-31T12:00:00Z",
        "2026-01-31t12:00:00z",
        "2026-01-31 12:00:00Z",
        "2026-01-31T12:00:00.123456789+05:30",
        "2024-02-29T00:00:00-08:00",
    ],
)
def test_rfc3339_accepts(value: str) -> None:
    assert is_rfc3339(value)


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-31",
        "2026-01-31T12:00:00",
        "2026-01-31T12:00:00Z\n",
        "2026-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-01-31T24:00:00Z",
        "2026-01-31T12:00:00.1234567890Z",
        "2026-01-31T12:00:00+2:00",
        1_769_860_800,
        None,
    ],
)
def test_rfc3339_refuses(value: Any) -> None:
    assert not is_rfc3339(value)


def test_string_check() -> None:
    """Required strings must be present and non-blank; optional ones may be absent or empty."""
    errors = Errors()
    body = {"a": "x", "blank": " ", "num": 3, "long": "abcd", "empty": ""}
    assert errors.string(body, "a", "a") == "x"
    assert errors.string(body, "missing", "p.missing") is None
    assert errors.string(body, "blank", "p.blank") is None
    assert errors.string(body, "num", "p.num", required=False) is None
    assert errors.string(body, "long", "p.long", max_len=3) is None
    assert errors.string(body, "empty", "p.empty", required=False) == ""
    assert errors.string(body, "missing", "p.none", required=False) is None
    assert errors.items == [
        FieldError("p.missing", "is required"),
        FieldError("p.blank", "must be a non-empty string"),
        FieldError("p.num", "must be a non-empty string"),
        FieldError("p.long", "must be at most 3 characters"),
    ]


def test_integer_check() -> None:
    """Integers only (not booleans, not floats), within bounds; the default when absent or wrong."""
    errors = Errors()
    body = {"ok": 7, "neg": -1, "big": 11, "small": 0, "flag": True, "float": 2.0}
    assert errors.integer(body, "ok", "ok", 1, high=10) == 7
    assert errors.integer(body, "absent", "absent", 5) == 5
    assert errors.integer(body, "neg", "neg", 1) == -1
    assert errors.integer(body, "big", "big", 1, high=10) == 11
    assert errors.integer(body, "small", "small", 1, low=1) == 0
    assert errors.integer(body, "flag", "flag", 3) == 3
    assert errors.integer(body, "float", "float", 3) == 3
    assert [(e.field, e.message) for e in errors.items] == [
        ("neg", "must not be negative"),
        ("big", "must be at most 10"),
        ("small", "must be at least 1"),
        ("flag", "must be an integer"),
        ("float", "must be an integer"),
    ]


def test_object_unknown_and_string_map_checks() -> None:
    errors = Errors()
    body = {"o": {"k": 1}, "s": "x", "m": {"a": "1", "b": 2}, "nil": None}
    assert errors.obj(body, "o", "o") == {"k": 1}
    assert errors.obj(body, "nil", "nil") == {}
    assert errors.obj(body, "s", "s") == {}
    assert errors.string_map(body, "m", "m") == {"a": "1"}
    errors.unknown(body["o"], {"j"}, prefix="o.")
    assert [(e.field, e.message) for e in errors.items] == [
        ("s", "must be an object"),
        ("m.b", "must be a string"),
        ("o.k", "unknown field"),
    ]
    assert bool(errors) and not Errors()


@pytest.mark.parametrize(
    ("url", "schemes", "problem"),
    [
        ("https://h.example/x?y=1", ("http", "https"), None),
        ("http://[::1]:8080/", ("http", "https"), None),
        ("grpc://consumer:50051", ("grpc", "grpcs"), None),
        ("grpcs://consumer.example", ("grpc", "grpcs"), None),
        ("grpcs://consumer.example:8443/", ("grpc", "grpcs"), None),
        ("nats://nats:4222/contact.events", ("nats", "amqp"), None),
        ("amqp://u:p@rabbit:5672/v?exchange=x&routing_key=y", ("nats", "amqp"), None),
        ("", ("http", "https"), "must be a non-empty string"),
        (None, ("http", "https"), "must be a non-empty string"),
        ("ftp://h", ("http", "https"), "must use http:// or https://"),
        ("h.example/x", ("http", "https"), "must use http:// or https://"),
        ("https://", ("http", "https"), "must name a host"),
        ("https://h:port", ("http", "https"), "is not a valid URL"),
        ("https://h.example/a b", ("http", "https"), "must not contain white space"),
        ("grpc://consumer", ("grpc", "grpcs"), "must name a port (grpc://host:port)"),
        ("grpc://consumer:1/pkg.Svc", ("grpc", "grpcs"), "must be grpc://host:port or grpcs://host[:port]"),
        ("grpcs://u:p@consumer:1", ("grpc", "grpcs"), "must be grpc://host:port or grpcs://host[:port]"),
        ("grpc://consumer:1?x=1", ("grpc", "grpcs"), "must be grpc://host:port or grpcs://host[:port]"),
    ],
)
def test_url_problem(url: Any, schemes: tuple[str, ...], problem: str | None) -> None:
    """A URL needs one of the schemes and a host; gRPC URLs are what the gRPC endpoint can dial."""
    found = url_problem(url, schemes)
    assert found == problem if problem is None else (found or "").startswith(problem)
