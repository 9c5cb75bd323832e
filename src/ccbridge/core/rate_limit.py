"""Admission under a rate with a burst: GCRA (the generic cell rate algorithm), as data.

Why GCRA: its whole state is one number per key, the theoretical arrival time `tat`, so a store can
hold it in one row and every process sharing the store enforces one limit (`RateLimits`), with one
conditional write per admission.

The rule, with `interval = 1/per_second` and a tolerance of `(burst - 1) * interval`: a request at
`now` is admitted when `max(tat, now) - now <= tolerance`, and then `tat = max(tat, now) + interval`;
a refused request leaves `tat` as it was, and is told the seconds until it would be admitted,
`max(tat, now) - now - tolerance`. A key never seen (`tat` None) is admitted.

What it guarantees: within any window of `T` seconds at most `burst + per_second * T` requests are
admitted (a full burst, then the rate), and after `burst` admissions at one instant the next one
comes `interval` later. Times are epoch seconds as floats, whose resolution near today's epoch is
about 0.24 microseconds: every `tat + interval` rounds by up to half of that, and a burst of a
thousand adds as many roundings, so the comparison allows `SLACK` (0.1 ms) for them. The bound
above holds to within `per_second * SLACK` admissions (a tenth of one at 1000/s).

Unlike `core.endpoint_health.rate_slot` (which reserves a future slot for every caller, for a
dispatcher that waits), this refuses: for callers told to come back later (HTTP 429).

Forgetting keys: both rules start from `max(tat, now)`, so a `tat` at or before `now` answers exactly
as no `tat` at all, whatever the rate and burst (the burst's tolerance only reaches ahead of `now`).
Housekeeping therefore deletes the rows of both tables (`rate_tokens`, `rate_slots`) whose `tat` is
before `stale_before(now)`; without that they would keep one row for every key ever seen.
"""

from __future__ import annotations

SLACK = 1e-4
"""Seconds of tolerance for float rounding at epoch magnitudes; part of `limit`."""


STALE_AFTER = 60.0
"""Seconds a `tat` must be in the past before its row is deleted. Any `tat` already past answers as
no row; the margin is for the requests that read their `now` a little before the purge read its
own (a job waiting in the SQLite writer's queue) or on a clock a little behind (replicas sharing
PostgreSQL), for which that `tat` may still lie ahead."""


def stale_before(now: float) -> float:
    """Rows of either rate table whose `tat` is before this, at `now`, may be deleted."""
    return now - STALE_AFTER


def interval(per_second: float) -> float:
    """Seconds between two admissions at the steady rate."""
    return 1.0 / per_second


def limit(per_second: float, burst: int) -> float:
    """How far ahead of `now` the `tat` may be for a request to be admitted: `(burst - 1)`
    intervals, plus `SLACK`. Stores that evaluate the rule in SQL compare against this value."""
    return (burst - 1) * interval(per_second) + SLACK


def take_token(tat: float | None, now: float, per_second: float, burst: int) -> tuple[float | None, float]:
    """One request at `now` against the stored `tat`: `(new tat, 0.0)` when admitted (store the new
    tat), `(None, retry_after)` when refused (store nothing; `retry_after` > 0 seconds).

    `per_second` must be > 0 and `burst` >= 1 (the config's checks); ValueError otherwise."""
    if not per_second > 0 or burst < 1:
        raise ValueError("per_second must be > 0 and burst >= 1")
    start = now if tat is None else max(tat, now)
    ahead = start - now
    allowed = limit(per_second, burst)
    if ahead <= allowed:
        return start + interval(per_second), 0.0
    return None, ahead - allowed + SLACK
