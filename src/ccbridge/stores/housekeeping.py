"""Housekeeping: the store's retention rules, applied every few minutes in the server process.

Why: without it the embedded store only grows. Every event and every settled delivery would stay in
the SQLite file forever; at a thousand events a second that is tens of gigabytes a day. Five rules:
each subscription's dead letters after its `deadLetterQueue.retentionDays`, idempotency records after
their 24-hour window, rate-limiter rows once their time is long past (they answer as no row; see
`core.rate_limit.stale_before`), settled history (delivered and cancelled deliveries, events nothing
refers to any more) after `store.retention_days`, and finished (succeeded or failed) replay jobs
after the same `store.retention_days`. Pending deliveries and dead letters are never touched by the
history rule, so nothing still owed to a consumer is lost to it; queued and running replay jobs are
never touched at all. The store purges in bounded pages (see `core.ports.housekeeping`).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from ccbridge.core.ports import Clock, Housekeeping
from ccbridge.core.times import SystemClock
from ccbridge.errors import Unavailable

log = structlog.get_logger("ccbridge.housekeeping")
INTERVAL_SECONDS = 600.0
FIRST_RUN_SECONDS = 5.0


class Housekeeper:
    def __init__(
        self,
        store: Housekeeping,
        retention_days: float,
        interval: float = INTERVAL_SECONDS,
        first_run: float = FIRST_RUN_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._retention = retention_days * 86400.0
        self._interval = interval
        self._first_run = first_run
        self._now = (clock or SystemClock()).now
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="ccbridge-housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> tuple[int, int, int, int]:
        """Applies the rules; returns (dead letters, deliveries, events, replay jobs) removed."""
        dead = await self._store.purge_expired()
        cutoff = self._now() - self._retention
        deliveries, events = await self._store.purge_history(cutoff)
        replays = await self._store.purge_replays(cutoff)
        if dead or deliveries or events or replays:
            log.info(
                "housekeeping", dead_letters=dead, deliveries=deliveries, events=events, replay_jobs=replays
            )
        return dead, deliveries, events, replays

    async def _loop(self) -> None:
        await asyncio.sleep(self._first_run)
        while True:
            try:
                await self.run_once()
            except Unavailable:  # disk full: logged once by the store; the next round tries again
                pass
            except Exception as exc:  # the next round tries again
                log.error("housekeeping failed", error=str(exc), error_type=type(exc).__name__)
            await asyncio.sleep(self._interval)
