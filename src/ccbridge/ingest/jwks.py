"""A JWKS URL's keys, cached, refreshed when stale or asked for an unknown `kid`.

Contract: at most one fetch starts per `min_interval` seconds, whatever the request rate, and
concurrent refreshes share one fetch, so a flood of tokens with made-up `kid`s costs the JWKS host
nothing more. A failed fetch keeps the keys already known. Safe for many tasks of one event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

import httpx
import orjson

from ccbridge.core.ports import Clock
from ccbridge.ingest.keys import VerificationKey, from_jwk

log = logging.getLogger(__name__)
_MAX_JWKS_BYTES = 1_048_576


class JwksCache:
    """Keys of one JWKS document; `loaded` is False until a fetch has succeeded."""

    def __init__(
        self,
        url: str,
        allowed: Collection[str],
        clock: Clock,
        *,
        min_interval: float = 30.0,
        max_age: float = 300.0,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self._allowed = frozenset(allowed)
        self._clock = clock
        self._min_interval = min_interval
        self._max_age = max_age
        self._timeout = timeout
        self._client = client
        self._owns_client = client is None
        self._keys: tuple[VerificationKey, ...] = ()
        self._by_kid: dict[str, tuple[VerificationKey, ...]] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._inflight: asyncio.Task[bool] | None = None
        self.fetches = 0
        self.generation = 0  # bumped whenever a fetch installs a key set

    @property
    def loaded(self) -> bool:
        return self._loaded_at is not None

    async def keys(self) -> tuple[VerificationKey, ...]:
        """Every usable key; fetches first if nothing was ever loaded (subject to the interval)."""
        if not self.loaded:
            await self.refresh()
        self._refresh_if_stale()
        return self._keys

    async def lookup(self, kid: str) -> tuple[VerificationKey, ...]:
        """Keys named `kid`; an unknown kid triggers a refresh unless one ran within the interval."""
        found = self._by_kid.get(kid)
        if found:
            self._refresh_if_stale()
            return found
        await self.refresh()
        return self._by_kid.get(kid, ())

    async def refresh(self) -> bool:
        """Join the running fetch or start one if the interval allows; True if keys were (re)loaded."""
        if self._inflight is None:
            if not self._interval_elapsed():
                return False
            self._start()
        assert self._inflight is not None
        return await asyncio.shield(self._inflight)

    async def aclose(self) -> None:
        """Wait for a running fetch, then close the HTTP client if this cache created it."""
        if self._inflight is not None:
            await asyncio.gather(self._inflight, return_exceptions=True)
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _interval_elapsed(self) -> bool:
        if self._attempted_at is None:
            return True
        elapsed = self._clock.now() - self._attempted_at
        return elapsed >= self._min_interval or elapsed < 0  # a clock stepped back never locks us out

    def _refresh_if_stale(self) -> None:
        stale = self._loaded_at is not None and self._clock.now() - self._loaded_at >= self._max_age
        if stale and self._inflight is None and self._interval_elapsed():
            self._start()

    def _start(self) -> None:
        self._attempted_at = self._clock.now()
        self.fetches += 1
        task = asyncio.get_running_loop().create_task(self._fetch())
        task.add_done_callback(self._done)
        self._inflight = task

    def _done(self, task: asyncio.Task[bool]) -> None:
        self._inflight = None
        if not task.cancelled() and task.exception() is not None:
            log.error("JWKS refresh crashed", exc_info=task.exception())

    async def _fetch(self) -> bool:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        try:
            response = await self._client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            if len(response.content) > _MAX_JWKS_BYTES:
                raise ValueError("JWKS document too large")
            members = orjson.loads(response.content)["keys"]
            if not isinstance(members, list):
                raise TypeError("keys is not a list")
        except (httpx.HTTPError, ValueError, TypeError, KeyError) as exc:
            log.warning("JWKS fetch from %s failed: %s", self.url, type(exc).__name__)
            return False
        self._install([k for k in (from_jwk(m, self._allowed) for m in members) if k is not None])
        return True

    def _install(self, keys: list[VerificationKey]) -> None:
        by_kid: dict[str, list[VerificationKey]] = {}
        for key in keys:
            for kid in key.kids:
                by_kid.setdefault(kid, []).append(key)
        self._keys = tuple(keys)
        self._by_kid = {kid: tuple(found) for kid, found in by_kid.items()}
        self._loaded_at = self._clock.now()
        self.generation += 1
