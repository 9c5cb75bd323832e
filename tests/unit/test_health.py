"""A subscription's delivery state from its counts: active, degraded or failing."""

from __future__ import annotations

from ccbridge.core.health import delivery_state
from ccbridge.core.ports import DeliveryCounts
from ccbridge.core.times import RECENT_WINDOW

NOW = 1_800_000_000.0


def test_nothing_failing_is_active() -> None:
    """No error, no retry, no recent failure: active, delivered or not."""
    assert delivery_state(DeliveryCounts(), NOW) == "active"
    assert delivery_state(DeliveryCounts(delivered=5, last_success_ts=NOW - 1), NOW) == "active"


def test_retries_or_recent_failures_beside_successes_are_degraded() -> None:
    """A retry in progress or a recent failure, with a recent success, is degraded."""
    recent = NOW - 1
    assert delivery_state(DeliveryCounts(retrying=1, last_success_ts=recent), NOW) == "degraded"
    assert delivery_state(DeliveryCounts(recent_failures=2), NOW) == "degraded"
    both = DeliveryCounts(last_error="HTTP 503", retrying=1, last_success_ts=recent)
    assert delivery_state(both, NOW) == "degraded"


def test_a_last_error_without_a_recent_success_is_failing() -> None:
    """The latest attempt failed and the last success is older than the window (or never was)."""
    assert delivery_state(DeliveryCounts(last_error="HTTP 500"), NOW) == "failing"
    stale = DeliveryCounts(last_error="HTTP 500", last_success_ts=NOW - RECENT_WINDOW - 1)
    assert delivery_state(stale, NOW) == "failing"
    edge = DeliveryCounts(last_error="HTTP 500", last_success_ts=NOW - RECENT_WINDOW)
    assert delivery_state(edge, NOW) == "failing"
    fresh = DeliveryCounts(last_error="HTTP 500", last_success_ts=NOW - RECENT_WINDOW + 1)
    assert delivery_state(fresh, NOW) == "active"
