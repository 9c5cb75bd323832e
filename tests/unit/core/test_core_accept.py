"""`accept.received_iso` answers exactly what `times.iso` answers, whatever order the readings
come in (the cached second must never leak into another second)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ccbridge.core.accept import received_iso
from ccbridge.core.times import iso

READINGS = st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False, allow_infinity=False)


@given(st.lists(READINGS, min_size=1, max_size=20))
def test_received_iso_is_iso(readings: list[float]) -> None:
    for ts in readings:
        assert received_iso(ts) == iso(ts)


def test_received_iso_at_the_edges_of_a_second() -> None:
    """Rounding that carries into the next second, and readings going back in time."""
    for ts in (1_764_758_703.9999996, 1_764_758_703.0, 1_764_758_702.9994999, 1_764_758_703.0004999, 0.0):
        assert received_iso(ts) == iso(ts)


def test_received_iso_after_the_second_changes() -> None:
    assert received_iso(1_764_758_703.25) == "2025-12-03T10:45:03.250Z"
    assert received_iso(1_764_758_704.5) == "2025-12-03T10:45:04.500Z"
    assert received_iso(1_764_758_703.75) == "2025-12-03T10:45:03.750Z"
