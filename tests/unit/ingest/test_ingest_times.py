"""Event-time normalisation: every accepted form to RFC 3339 UTC, everything else refused."""

from __future__ import annotations

from typing import Any

import pytest

from ccbridge.ingest.times import normalize_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"),
        ("2024-05-01T14:30:00+02:30", "2024-05-01T12:00:00Z"),
        ("2024-05-01T02:00:00-10:00", "2024-05-01T12:00:00Z"),
        ("2024-05-01t12:00:00.25z", "2024-05-01T12:00:00.250Z"),
        ("2024-05-01 12:00:00.123456+00:00", "2024-05-01T12:00:00.123456Z"),
        ("2024-05-01T12:00:00.123456789Z", "2024-05-01T12:00:00.123456Z"),
        ("2024-05-01T00:30:00+01:00", "2024-04-30T23:30:00Z"),
    ],
)
def test_rfc3339_with_any_offset_becomes_utc(value: str, expected: str) -> None:
    """An RFC 3339 date-time with Z or a numeric offset is converted to UTC with a Z suffix."""
    assert normalize_time(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1714564800, "2024-05-01T12:00:00Z"),
        (1714564800.5, "2024-05-01T12:00:00.500Z"),
        (1714564800123, "2024-05-01T12:00:00.123Z"),
        ("1714564800", "2024-05-01T12:00:00Z"),
        ("1714564800123", "2024-05-01T12:00:00.123Z"),
        ("1714564800.25", "2024-05-01T12:00:00.250Z"),
        (0, "1970-01-01T00:00:00Z"),
    ],
)
def test_epoch_seconds_and_milliseconds_are_told_apart_by_magnitude(value: Any, expected: str) -> None:
    """Epoch numbers and digit strings below 1e11 are seconds, from 1e11 on milliseconds."""
    assert normalize_time(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T12:00:00",  # no offset: ambiguous
        "2024-05-01",
        "yesterday",
        "",
        "2024-02-30T12:00:00Z",
        "2024-05-01T25:00:00Z",
        "2024-05-01T12:00:00+24:00",
        "0001-01-01T00:00:00+01:00",
        "12:00:00Z",
        "-1714564800",
        -5,
        1e300,
        True,
        None,
        {"ts": 1},
        [1714564800],
    ],
)
def test_unparseable_times_raise_and_are_never_replaced_by_now(value: Any) -> None:
    """Anything that is not an accepted time raises ValueError instead of defaulting to the current time."""
    with pytest.raises(ValueError):
        normalize_time(value)
