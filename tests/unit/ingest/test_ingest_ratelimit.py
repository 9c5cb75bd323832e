"""The per-subject token bucket."""

from __future__ import annotations

import pytest

from ccbridge.api.problems import answer_for, retry_after_header
from ccbridge.errors import RateLimited, Retryable
from ccbridge.ingest.ratelimit import RateLimiter
from ccbridge.ingest.testing import FakeClock


def test_burst_is_allowed_then_refused_with_retry_after(clock: FakeClock) -> None:
    """A subject may spend its burst at once; the next request is refused with the wait until a token."""
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        limiter.acquire("erp")
    with pytest.raises(RateLimited) as caught:
        limiter.acquire("erp")
    assert isinstance(caught.value, Retryable)
    assert caught.value.retry_after == pytest.approx(0.5)
    assert retry_after_header(caught.value.retry_after or 0) == "1"
    assert answer_for(caught.value).status == 429


def test_tokens_refill_at_the_configured_rate(clock: FakeClock) -> None:
    """After 1/rate seconds one more request is allowed, and no more."""
    limiter = RateLimiter(rate=4.0, burst=1, clock=clock)
    limiter.acquire("erp")
    clock.advance(0.25)
    limiter.acquire("erp")
    with pytest.raises(RateLimited):
        limiter.acquire("erp")


def test_refill_never_exceeds_the_burst(clock: FakeClock) -> None:
    """A long idle period gives back at most `burst` tokens."""
    limiter = RateLimiter(rate=10.0, burst=2, clock=clock)
    clock.advance(3600)
    limiter.acquire("erp")
    limiter.acquire("erp")
    with pytest.raises(RateLimited):
        limiter.acquire("erp")


def test_subjects_have_independent_buckets(clock: FakeClock) -> None:
    """One caller exhausting its bucket does not limit another."""
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    limiter.acquire("erp")
    with pytest.raises(RateLimited):
        limiter.acquire("erp")
    limiter.acquire("crm")


def test_refused_requests_do_not_consume_tokens(clock: FakeClock) -> None:
    """Hammering while limited does not push the next allowed request further out."""
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    limiter.acquire("erp")
    for _ in range(10):
        with pytest.raises(RateLimited):
            limiter.acquire("erp")
    clock.advance(1.0)
    limiter.acquire("erp")


def test_idle_full_buckets_are_forgotten(clock: FakeClock) -> None:
    """Buckets of callers idle long enough to be full again are swept, so memory follows active callers."""
    limiter = RateLimiter(rate=100.0, burst=1, clock=clock)
    for i in range(500):
        limiter.acquire(f"caller-{i}")
    clock.advance(1.0)
    for _ in range(RateLimiter._SWEEP_EVERY):
        clock.advance(0.02)
        limiter.acquire("steady")
    assert len(limiter) == 1


def test_rate_and_burst_must_be_positive(clock: FakeClock) -> None:
    """A zero rate or burst is a programming error caught at construction."""
    with pytest.raises(ValueError):
        RateLimiter(rate=0, burst=1, clock=clock)
    with pytest.raises(ValueError):
        RateLimiter(rate=1, burst=0, clock=clock)
