"""Retry policies as data: when a failed delivery is tried again, or that it is not.

Nothing here sleeps. The dispatcher asks `RetryPolicy.next_delay` after a `Retry` outcome and re-queues
the delivery for `now + delay`; `None` means the retries are spent and the delivery becomes a dead letter.
Only `Retry` outcomes are retried (timeouts, connection errors, 408/425/429/5xx); a `Failed` outcome is
never passed here.

Schedule (seconds): the n-th retry follows attempt n and waits `base(n)`, where
`base(n) = initial * 2**(n-1)` (exponential) or `initial * n` (linear), capped at `max_delay`.

Jitter is **equal jitter**: half of `base(n)` is fixed and half uniformly random, so the delay lies in
`[base/2, base]`, spreads a thundering herd, and never collapses to 0 (full jitter could retry a
struggling receiver at once). `jitter="none"` gives the bare schedule.

A Retry-After from the receiver is a **floor**: `delay = max(computed, retry_after)`. The floor itself is
clamped to `MAX_RETRY_AFTER` (1 hour), so a receiver answering "Retry-After: 1 day" cannot park a delivery
for a day (it is tried within the hour and may answer with a new Retry-After, which counts as a retry).
Every delay is therefore at most `max(max_delay, MAX_RETRY_AFTER)`.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol

from ccbridge.core.event import RetrySpec

MAX_RETRY_AFTER = 3600.0
_MAX_DOUBLINGS = 64  # 2**64 * any sane initial delay is far past any cap; avoids float overflow
_DELTA_SECONDS = re.compile(r"\d{1,10}(\.\d+)?")


class Rng(Protocol):
    """The one method of `random.Random` a policy needs: a float in [0, 1)."""

    def random(self) -> float: ...


_RNG = random.Random()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how far apart a delivery is retried; delays in seconds.

    `max_retries` counts retries after the first try, so a delivery is attempted at most
    `max_retries + 1` times.
    """

    max_retries: int = 5
    strategy: Literal["exponential", "linear"] = "exponential"
    initial_delay: float = 1.0
    max_delay: float = 60.0
    jitter: Literal["equal", "none"] = "equal"

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if not (0 <= self.initial_delay <= self.max_delay and math.isfinite(self.max_delay)):
            raise ValueError("need 0 <= initial_delay <= max_delay < inf")

    @classmethod
    def from_spec(cls, spec: RetrySpec, jitter: Literal["equal", "none"] = "equal") -> RetryPolicy:
        """A policy from a subscription's settings (milliseconds); an initial delay above the cap is
        lowered to the cap rather than rejected."""
        max_delay = max(spec.max_delay_ms, 0) / 1000
        initial = min(max(spec.initial_delay_ms, 0) / 1000, max_delay)
        return cls(spec.max_retries, spec.strategy, initial, max_delay, jitter)

    def base_delay(self, attempt: int) -> float:
        """The un-jittered delay after attempt `attempt` (1-based) failed, capped at `max_delay`."""
        n = max(attempt, 1)
        if self.strategy == "linear":
            raw = self.initial_delay * n
        else:
            raw = self.initial_delay * 2.0 ** min(n - 1, _MAX_DOUBLINGS)
        return min(raw, self.max_delay)

    def next_delay(
        self, attempt: int, retry_after: float | None = None, rng: Rng | None = None
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        `attempt` is the number of the attempt that just failed (1 = the first try); it gives up once
        `attempt > max_retries`. `retry_after` (seconds, from the receiver) is a floor, clamped to
        `MAX_RETRY_AFTER`; negative or non-finite values are ignored.
        """
        if attempt > self.max_retries:
            return None
        delay = self.base_delay(attempt)
        if self.jitter == "equal":
            delay = delay / 2 + (rng or _RNG).random() * delay / 2
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay


DEFAULT_RETRY = RetryPolicy()
"""For a delivery without retry settings: 5 retries, exponential from 1 s, capped at 60 s, equal jitter
(seed 001's defaults, the same as `RetrySpec()`)."""


def policy_for(spec: RetrySpec | None) -> RetryPolicy:
    """The policy of a subscription's retry settings, or `DEFAULT_RETRY` when it has none."""
    return DEFAULT_RETRY if spec is None else RetryPolicy.from_spec(spec)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """A Retry-After header as seconds from `now` (epoch seconds), or None when absent or unreadable.

    Accepts delta-seconds (`120`, also a decimal like `1.5`) and the three HTTP-date forms of RFC 9110
    (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 850, asctime; all GMT); a date in the past gives 0.0.
    """
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # asctime and "-0000" forms parse naive; every HTTP-date is GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
