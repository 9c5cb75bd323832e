"""The breaker's pure transitions and the rate limiter's arithmetic (`core.endpoint_health`)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ccbridge.core.endpoint_health import BreakerPolicy, HealthRecord, admit, after_attempt, rate_slot

POLICY = BreakerPolicy(failures=2, probe_initial_seconds=5, probe_max_seconds=30, disable_after_seconds=100)
KEY = ("s1", "http://x/")


def test_probe_delays_double_up_to_the_cap() -> None:
    """5, 10, 20, then 30 s for ever (the cap), however many probes failed."""
    assert [POLICY.probe_delay(n) for n in (0, 1, 2, 3, 500)] == [5, 10, 20, 30, 30]


def test_a_failure_that_opens_schedules_the_first_probe() -> None:
    """The `failures`-th failure in a row opens the breaker with the probe `probe_initial_seconds` on."""
    one = after_attempt(None, KEY, "w", "failed", "HTTP 503", POLICY, 1000.0)
    assert one is not None and one.state == "closed" and one.failing_since == 1000.0
    two = after_attempt(one, KEY, "w", "failed", "HTTP 503", POLICY, 1001.0)
    assert two is not None and (two.state, two.next_probe_at, two.failing_since) == ("open", 1006.0, 1000.0)


def test_a_failure_of_someone_elses_send_does_not_move_the_probe() -> None:
    """Only the probe's own failure backs off; a send from before the breaker opened just counts."""
    opened = HealthRecord(*KEY, state="open", failures=2, failing_since=0.0, next_probe_at=50.0)
    stray = after_attempt(opened, KEY, "w", "failed", "x", POLICY, 10.0)
    assert stray is not None and (stray.next_probe_at, stray.failed_probes, stray.failures) == (50.0, 0, 3)


def test_while_a_probe_is_in_flight_others_wait_for_the_next_probe_or_its_lease() -> None:
    """A due probe already held makes the rest wait until the next probe would be due if it failed
    (its backoff), or until the probe's lease ends if that is sooner."""
    held = HealthRecord(*KEY, state="open", next_probe_at=10.0, probe_owner="a", probe_until=40.0)
    assert admit(held, "b", 20.0, POLICY)[:2] == ("wait", 30.0)
    assert admit(replace(held, failed_probes=3), "b", 20.0, POLICY)[:2] == ("wait", 40.0)


@pytest.mark.parametrize(
    ("tat", "now", "expected"),
    [
        (None, 10.0, (10.25, 0.0)),
        (10.25, 10.0, (10.5, 0.25)),
        (10.1, 10.0, (10.35, 0.0)),
        (10.25, 11.0, (11.25, 0.0)),
    ],
)
def test_rate_slots_are_reserved_evenly_spaced(
    tat: float | None, now: float, expected: tuple[float, float]
) -> None:
    """At 4 a second, each call reserves the next slot, 0.25 s after the previous; one less than
    half an interval ahead counts as now; after idling the next slot is now."""
    assert rate_slot(tat, now, 4) == pytest.approx(expected)
