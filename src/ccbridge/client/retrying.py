"""Retries below the client, as an httpx transport, so every call (the token request too) gets them.

Contract:
* Retried: 429, 500, 502, 503, 504, timeouts, connection and protocol errors. Never another 4xx.
* The same `httpx.Request` is sent again: its headers, so its `Idempotency-Key` and
  `X-Correlation-Id`, are those of the logical operation, and a server that already did the work
  answers with the stored result instead of doing it twice. Every write therefore carries a key
  (`BridgeClient` sets one); a body must be bytes (re-readable), which the client guarantees.
* Delays: capped exponential backoff with equal jitter (`ccbridge.core.retry.RetryPolicy`); a
  `Retry-After` (seconds or HTTP-date) is a floor. A 429 without a readable `Retry-After` waits
  `rate_limit_wait` (5 s, seed 004's default) at least. A `Retry-After` above `max_retry_after` is
  not waited out: the answer is returned at once, with the wait asked for (`RETRY_AFTER`) and the
  budget it passed (`OVER_BUDGET`), and becomes `RateLimitExhausted` saying both.
* When the retries are spent the last answer is returned (or the last transport error raised);
  `error_from_response` maps it. `response.extensions["ccbridge.attempts"]` counts the tries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from ccbridge.core.retry import RetryPolicy, Rng, parse_retry_after

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True, slots=True)
class RetryOptions:
    """How hard the client tries: 7 attempts within about 11 s by default, seconds throughout.

    `sleep`, `rng` and `clock` (epoch seconds, to read HTTP-date Retry-After) are injectable so
    tests neither wait nor depend on chance.
    """

    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(6, "exponential", 0.2, 5.0))
    max_retry_after: float = 60.0
    rate_limit_wait: float = 5.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: Rng | None = None
    clock: Callable[[], float] = time.time


ATTEMPTS = "ccbridge.attempts"
RETRY_AFTER = "ccbridge.retry_after"
OVER_BUDGET = "ccbridge.over_budget"


class RetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport (the network, or `httpx.MockTransport` in tests) with retries."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, options: RetryOptions | None = None):
        self._inner = inner if inner is not None else httpx.AsyncHTTPTransport()
        self.options = options or RetryOptions()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        opts = self.options
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._inner.handle_async_request(request)
            except RETRYABLE_ERRORS:
                delay = opts.policy.next_delay(attempt, None, opts.rng)
                if delay is None:
                    raise
                await opts.sleep(delay)
                continue
            if response.status_code not in RETRY_STATUSES:
                response.extensions[ATTEMPTS] = attempt
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"), opts.clock())
            if retry_after is None and response.status_code == 429:
                retry_after = opts.rate_limit_wait
            over_budget = retry_after is not None and retry_after > opts.max_retry_after
            delay = opts.policy.next_delay(attempt, retry_after, opts.rng)
            if delay is None or over_budget:
                response.extensions[ATTEMPTS] = attempt
                response.extensions[RETRY_AFTER] = retry_after
                if over_budget:
                    response.extensions[OVER_BUDGET] = opts.max_retry_after
                return response
            await response.aclose()
            await opts.sleep(delay)

    async def aclose(self) -> None:
        await self._inner.aclose()
