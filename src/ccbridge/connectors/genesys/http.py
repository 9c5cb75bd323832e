"""The Genesys Cloud REST calls the connector makes, with the platform's rate-limit rules.

Genesys answers every call with `inin-ratelimit-allowed` (requests allowed in the window),
`inin-ratelimit-count` (used so far) and `inin-ratelimit-reset` (seconds until the window resets).
A 429 is retried after `Retry-After`, else `inin-ratelimit-reset`, else one second; and once the
count reaches the allowance the next call waits for the reset instead of drawing a 429. 5xx answers
and connection failures are retried `attempts` times with exponential backoff, then raised as
`Unavailable`; a 401 raises `AuthError` (the caller renews its token once); other 4xx `Permanent`.
Messages never carry a token or secret.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from ccbridge.errors import AuthError, Permanent, Unavailable

Sleep = Callable[[float], Awaitable[None]]
MAX_WAIT = 300.0  # seconds: a longer Retry-After is capped (the connector's own backoff takes over)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any


def _number(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


class GenesysHttp:
    """One aiohttp session for a connector's REST calls. `sleep` is injectable so tests can record the
    waits it chooses; `monotonic` is the clock the rate-limit window is measured on."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        attempts: int = 4,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        timeout: float = 15.0,
    ) -> None:
        self.session = session
        self.attempts = attempts
        self.sleep = sleep
        self._monotonic = monotonic
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._resume_at = 0.0  # no call before this (monotonic): the allowance is used up
        self.waits: list[float] = []  # every rate-limit or backoff wait chosen, for status and tests

    async def call(self, method: str, url: str, **kwargs: Any) -> Answer:
        """One call with the rules above; `kwargs` go to aiohttp (`json`, `data`, `headers`, `auth`)."""
        what = f"{method} {url.split('?', 1)[0]}"
        for attempt in range(self.attempts):
            await self._respect_window()
            try:
                async with self.session.request(method, url, timeout=self._timeout, **kwargs) as response:
                    raw = await response.read()
                    self._note_allowance(response.headers)
                    status = response.status
                    headers = response.headers
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                if attempt + 1 == self.attempts:
                    raise Unavailable(f"{what}: {type(exc).__name__}", retry_after=1.0) from None
                await self._wait(min(30.0, 0.5 * 2**attempt))
                continue
            if status == 429:
                wait = _number(headers.get("Retry-After"))
                wait = _number(headers.get("inin-ratelimit-reset")) if wait is None else wait
                if attempt + 1 == self.attempts:
                    raise Unavailable(f"{what}: rate limited (429)", retry_after=wait or 1.0)
                await self._wait(1.0 if wait is None else wait)
                continue
            if status >= 500:
                if attempt + 1 == self.attempts:
                    raise Unavailable(f"{what}: {status}", retry_after=1.0)
                await self._wait(min(30.0, 0.5 * 2**attempt))
                continue
            body = orjson.loads(raw) if raw.strip() else None
            if status == 401:
                raise AuthError(f"{what}: 401 (the token was refused)")
            if status >= 400:
                raise Permanent(f"{what}: {status} {_reason(body)}")
            return Answer(status, body)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait(self, seconds: float) -> None:
        seconds = min(seconds, MAX_WAIT)
        self.waits.append(seconds)
        await self.sleep(seconds)

    async def _respect_window(self) -> None:
        left = self._resume_at - self._monotonic()
        if left > 0:
            await self._wait(left)

    def _note_allowance(self, headers: Any) -> None:
        """When the count has reached the allowance, hold the next call until the window resets."""
        allowed = _number(headers.get("inin-ratelimit-allowed"))
        count = _number(headers.get("inin-ratelimit-count"))
        reset = _number(headers.get("inin-ratelimit-reset"))
        if allowed is not None and count is not None and reset is not None and count >= allowed:
            self._resume_at = self._monotonic() + reset


def _reason(body: Any) -> str:
    """The platform's error message (never a token: error bodies hold a message and a code)."""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error_description") or body.get("code") or "")[:200]
    return ""
