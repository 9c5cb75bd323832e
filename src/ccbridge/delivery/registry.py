"""The server's side of seed 001's registry sync (`core.registry`): delivering notices, and noticing
delivery-state changes.

`RegistryQueue` is the dispatcher's delivery queue with one addition: deliveries of the reserved
subscription `REGISTRY_SUBSCRIPTION` are sent with the registry's stand-in subscription (its URL,
secret, headers and retries), so the dispatcher delivers, retries and dead-letters notices exactly
as it does events.

`StateWatch` computes every subscription's delivery state as `GET .../delivery-status` does
(`core.health.delivery_state`) every `interval` seconds and hands it to the store, which queues a
notice only when it differs from the last one told (`RegistryOutbox.registry_state_changed`), so a
change is told once however many processes watch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog

from ccbridge.core.event import DeliveryJob, Subscription
from ccbridge.core.health import delivery_state
from ccbridge.core.ports import DeliveryQueue, DeliveryReports, RegistryOutbox, Settlement, SubscriptionStore
from ccbridge.core.redact import mask_text
from ccbridge.core.registry import REGISTRY_SUBSCRIPTION

log = structlog.get_logger("ccbridge.registry")


class RegistryQueue:
    """`queue`, except that the registry's deliveries are sent with `registry`."""

    def __init__(self, queue: DeliveryQueue, registry: Subscription) -> None:
        self._queue = queue
        self._registry = registry

    def add_listener(self, callback: Callable[[], None]) -> None:
        self._queue.add_listener(callback)

    def cached_subscription(self, sub_id: str) -> Subscription | None:
        return self._registry if sub_id == REGISTRY_SUBSCRIPTION else self._queue.cached_subscription(sub_id)

    async def lease(
        self, owner: str, limit: int, lease_seconds: float, exclude_endpoints: Sequence[str] = ()
    ) -> list[DeliveryJob]:
        return await self._queue.lease(owner, limit, lease_seconds, exclude_endpoints)

    async def renew(self, owner: str, delivery_ids: Sequence[int], lease_seconds: float) -> int:
        return await self._queue.renew(owner, delivery_ids, lease_seconds)

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None:
        await self._queue.settle(owner, settlements)

    async def release(self, owner: str, delivery_ids: Sequence[int]) -> None:
        await self._queue.release(owner, delivery_ids)

    async def next_due(self, exclude_endpoints: Sequence[str] = ()) -> float | None:
        return await self._queue.next_due(exclude_endpoints)


class WatchedStore(SubscriptionStore, DeliveryReports, RegistryOutbox, Protocol):
    """What the watch reads and where it reports."""


class StateWatch:
    """Tells the store each subscription's delivery state every `interval` seconds (`now` is the
    clock the states are computed at)."""

    def __init__(self, store: WatchedStore, interval: float, now: Callable[[], float]) -> None:
        self._store = store
        self._interval = interval
        self._now = now
        self._task: asyncio.Task[None] | None = None

    async def check_once(self) -> int:
        """One pass over every subscription; returns how many notices it queued."""
        queued = 0
        for sub in await self._store.list_subscriptions():
            counts = await self._store.delivery_counts(sub.id)
            queued += await self._store.registry_state_changed(sub.id, delivery_state(counts, self._now()))
        return queued

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ccbridge-registry-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception as exc:  # the watch outlives a store outage; the next pass catches up
                log.warning("registry watch failed", error=mask_text(str(exc)), error_type=type(exc).__name__)
            await asyncio.sleep(self._interval)
