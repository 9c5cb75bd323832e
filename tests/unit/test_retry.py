"""Retry policies: schedules, jitter bounds, the Retry-After floor, giving up, parsing Retry-After."""

from __future__ import annotations

import itertools
import math
import random
from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccbridge.core.event import RetrySpec
from ccbridge.core.retry import (
    DEFAULT_RETRY,
    MAX_RETRY_AFTER,
    RetryPolicy,
    parse_retry_after,
    policy_for,
)

NOW = 1_700_000_000.0


class FixedRng:
    """An Rng that always returns the same fraction."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_exponential_schedule_is_capped() -> None:
    """Exponential delays double from the initial delay and stop at the cap."""
    policy = RetryPolicy(max_retries=8, initial_delay=1.0, max_delay=60.0, jitter="none")
    assert [policy.next_delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_linear_schedule_is_capped() -> None:
    """Linear delays grow by the initial delay each retry and stop at the cap."""
    policy = RetryPolicy(max_retries=5, strategy="linear", initial_delay=2.0, max_delay=7.0, jitter="none")
    assert [policy.next_delay(n) for n in range(1, 6)] == [2, 4, 6, 7, 7]


def test_from_spec_converts_milliseconds() -> None:
    """A RetrySpec in milliseconds becomes a policy in seconds."""
    policy = RetryPolicy.from_spec(RetrySpec(3, "linear", 1500, 4000))
    assert (policy.max_retries, policy.strategy, policy.initial_delay, policy.max_delay) == (
        3,
        "linear",
        1.5,
        4.0,
    )


def test_from_spec_lowers_initial_above_cap() -> None:
    """An initial delay above the cap is lowered to the cap rather than rejected."""
    assert RetryPolicy.from_spec(RetrySpec(initial_delay_ms=90_000, max_delay_ms=1000)).initial_delay == 1.0


def test_default_retry_is_seed_defaults() -> None:
    """DEFAULT_RETRY equals RetrySpec()'s settings and is what policy_for(None) gives."""
    assert RetryPolicy.from_spec(RetrySpec()) == DEFAULT_RETRY
    assert (DEFAULT_RETRY.max_retries, DEFAULT_RETRY.initial_delay, DEFAULT_RETRY.max_delay) == (5, 1.0, 60.0)
    assert policy_for(None) is DEFAULT_RETRY
    assert policy_for(RetrySpec(max_retries=1)).max_retries == 1


def test_gives_up_after_max_retries() -> None:
    """With 5 retries, attempts 1..5 are retried and attempt 6 (the 5th retry) is final."""
    policy = RetryPolicy(max_retries=5)
    assert all(policy.next_delay(n) is not None for n in range(1, 6))
    assert policy.next_delay(6) is None


def test_zero_retries_gives_up_at_once() -> None:
    """max_retries=0 means a single try."""
    assert RetryPolicy(max_retries=0).next_delay(1) is None


def test_equal_jitter_bounds() -> None:
    """Equal jitter keeps the delay within [base/2, base]: half fixed, half random."""
    policy = RetryPolicy(initial_delay=4.0, max_delay=60.0)
    assert policy.next_delay(1, rng=FixedRng(0.0)) == 2.0
    assert policy.next_delay(1, rng=FixedRng(0.5)) == 3.0
    assert policy.next_delay(1, rng=FixedRng(0.999999)) == pytest.approx(4.0, abs=1e-5)


def test_jitter_spreads_delays() -> None:
    """With a real RNG, delays of the same attempt differ."""
    rng = random.Random(7)
    delays = {RetryPolicy().next_delay(3, rng=rng) for _ in range(20)}
    assert len(delays) > 10


def test_retry_after_is_a_floor() -> None:
    """A longer Retry-After raises the delay; a shorter one does not lower it."""
    policy = RetryPolicy(initial_delay=10.0, max_delay=60.0, jitter="none")
    assert policy.next_delay(1, retry_after=30.0) == 30.0
    assert policy.next_delay(1, retry_after=3.0) == 10.0


def test_retry_after_floor_may_exceed_max_delay_up_to_an_hour() -> None:
    """Retry-After above max_delay is honoured, but clamped to one hour."""
    policy = RetryPolicy(initial_delay=1.0, max_delay=60.0, jitter="none")
    assert policy.next_delay(1, retry_after=600.0) == 600.0
    assert policy.next_delay(1, retry_after=86_400.0) == MAX_RETRY_AFTER == 3600.0


@pytest.mark.parametrize("bad", [-5.0, math.nan, math.inf, 0.0])
def test_unusable_retry_after_is_ignored(bad: float) -> None:
    """Negative, zero or non-finite Retry-After values do not change the delay."""
    policy = RetryPolicy(initial_delay=2.0, jitter="none")
    assert policy.next_delay(1, retry_after=bad) == 2.0


def test_retry_after_does_not_extend_retries() -> None:
    """Past max_retries the answer is None even with a Retry-After."""
    assert RetryPolicy(max_retries=2).next_delay(3, retry_after=5.0) is None


def test_huge_attempt_numbers_do_not_overflow() -> None:
    """An absurd attempt number still yields the cap, not an OverflowError."""
    policy = RetryPolicy(max_retries=10**6, jitter="none")
    assert policy.next_delay(5000) == policy.max_delay


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"initial_delay": -1.0},
        {"initial_delay": 5.0, "max_delay": 1.0},
        {"max_delay": math.inf},
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    """Negative counts or delays, an initial delay above the cap, or an infinite cap are refused."""
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# --- properties -----------------------------------------------------------------------------------

policies = st.builds(
    RetryPolicy,
    max_retries=st.integers(0, 30),
    strategy=st.sampled_from(["exponential", "linear"]),
    initial_delay=st.floats(0, 100),
    max_delay=st.floats(100, 7200),
    jitter=st.sampled_from(["equal", "none"]),
)


@given(policies, st.integers(1, 40), st.none() | st.floats(0, 10**6), st.floats(0, 1, exclude_max=True))
def test_delay_within_floor_and_cap(
    policy: RetryPolicy, attempt: int, retry_after: float | None, r: float
) -> None:
    """Every delay lies in [max(base/2, Retry-After floor), max(base, Retry-After floor)]."""
    delay = policy.next_delay(attempt, retry_after, FixedRng(r))
    if attempt > policy.max_retries:
        assert delay is None
        return
    assert delay is not None
    base = policy.base_delay(attempt)
    floor = min(retry_after, MAX_RETRY_AFTER) if retry_after else 0.0
    assert max(base / 2, floor) <= delay <= max(base, floor)
    assert delay <= max(policy.max_delay, MAX_RETRY_AFTER)


@given(policies)
def test_monotone_without_jitter(policy: RetryPolicy) -> None:
    """Without jitter, each retry waits at least as long as the one before."""
    bare = RetryPolicy(policy.max_retries, policy.strategy, policy.initial_delay, policy.max_delay, "none")
    delays = [bare.next_delay(n) for n in range(1, bare.max_retries + 1)]
    assert all(a is not None and b is not None and a <= b for a, b in itertools.pairwise(delays))


@given(policies)
def test_gives_up_exactly_after_max_retries(policy: RetryPolicy) -> None:
    """next_delay is a number for attempts 1..max_retries and None from max_retries + 1 on."""
    answers = [policy.next_delay(n) for n in range(1, policy.max_retries + 3)]
    assert [a is None for a in answers] == [False] * policy.max_retries + [True, True]


# --- Retry-After parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("120", 120.0), (" 5 ", 5.0), ("0", 0.0), ("1.5", 1.5)])
def test_parse_delta_seconds(value: str, expected: float) -> None:
    """Delta-seconds (and a decimal) parse to seconds."""
    assert parse_retry_after(value, NOW) == expected


def test_parse_http_date() -> None:
    """An IMF-fixdate in the future parses to the seconds until it."""
    assert parse_retry_after(formatdate(NOW + 90, usegmt=True), NOW) == 90.0


@pytest.mark.parametrize(
    "value", ["Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 GMT"]
)
def test_parse_all_http_date_forms(value: str) -> None:
    """RFC 850 and asctime dates are read as GMT, like IMF-fixdate."""
    assert parse_retry_after(value, 784111777.0 - 10) == 10.0


def test_parse_past_date_is_zero() -> None:
    """A date already past means no wait."""
    assert parse_retry_after(formatdate(NOW - 90, usegmt=True), NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1e3", "12 apples", "99999999999"])
def test_parse_unreadable_is_none(value: str | None) -> None:
    """Absent, negative, malformed or absurdly long values give None."""
    assert parse_retry_after(value, NOW) is None
