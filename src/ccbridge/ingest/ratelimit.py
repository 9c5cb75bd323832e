"""A token bucket per caller (the JWT `sub`), in memory, per process.

Each caller's bucket holds at most `burst` tokens and refills at `rate` per second; a request
takes one token or is refused with RateLimited, whose `retry_after` is the wait until a token is
back. Buckets that have refilled completely are forgotten, so memory follows the active callers.
Not shared between replicas: each replica enforces the limit on its own.
"""

from __future__ import annotations

from ccbridge.core.ports import Clock
from ccbridge.errors import RateLimited


class RateLimiter:
    """Per-subject token buckets; `acquire` is synchronous and O(1) amortised."""

    _SWEEP_EVERY = 1024

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # subject -> (tokens, at)
        self._calls = 0

    def acquire(self, subject: str) -> None:
        """Take one token for `subject`; RateLimited (with retry_after seconds) when none is left."""
        now = self._clock.now()
        self._calls += 1
        if self._calls % self._SWEEP_EVERY == 0:
            self._sweep(now)
        tokens, at = self._buckets.get(subject, (self._burst, now))
        tokens = min(self._burst, tokens + max(0.0, now - at) * self._rate)
        if tokens < 1.0:
            self._buckets[subject] = (tokens, now)
            raise RateLimited((1.0 - tokens) / self._rate)
        self._buckets[subject] = (tokens - 1.0, now)

    def _sweep(self, now: float) -> None:
        full_after = self._burst / self._rate
        idle = [s for s, (_, at) in self._buckets.items() if now - at >= full_after]
        for subject in idle:
            del self._buckets[subject]

    def __len__(self) -> int:
        return len(self._buckets)
