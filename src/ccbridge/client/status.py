"""Waiting for subscriptions' deliveries to settle, polling delivery-status with backoff and jitter.

A subscription is settled when its counts show nothing pending and nothing retrying. Each is polled
on its own schedule (all concurrently): the first poll at once, then after delays doubling from
`initial` to `cap` seconds with equal jitter, until settled or the shared deadline passes; the
last status seen is reported either way. An API error ends that subscription's polling (reported).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ccbridge.client.api import BridgeClient
from ccbridge.client.errors import ApiError


@dataclass(frozen=True, slots=True)
class SubscriptionStatus:
    """Where one subscription's polling ended: settled or not, the last status seen, any error."""

    name: str
    id: str
    settled: bool
    status: dict[str, Any] | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "settled": self.settled,
            "status": self.status,
            "error": self.error,
        }


def is_settled(status: Mapping[str, Any]) -> bool:
    counts = status.get("counts") or {}
    return int(counts.get("pending", 0) or 0) == 0 and int(counts.get("retrying", 0) or 0) == 0


async def _poll(
    client: BridgeClient,
    name: str,
    sub_id: str,
    deadline: float,
    *,
    initial: float,
    cap: float,
    sleep: Callable[[float], Awaitable[None]],
    clock: Callable[[], float],
) -> SubscriptionStatus:
    delay, last = initial, None
    while True:
        try:
            last = await client.delivery_status(sub_id)
        except ApiError as exc:
            return SubscriptionStatus(name, sub_id, False, last, str(exc))
        if is_settled(last):
            return SubscriptionStatus(name, sub_id, True, last)
        remaining = deadline - clock()
        if remaining <= 0:
            return SubscriptionStatus(name, sub_id, False, last, "not settled before the timeout")
        await sleep(min(remaining, delay / 2 + random.random() * delay / 2))
        delay = min(delay * 2, cap)


async def wait_settled(
    client: BridgeClient,
    subscriptions: Mapping[str, str],
    within: float,
    *,
    initial: float = 0.2,
    cap: float = 5.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[SubscriptionStatus]:
    """Polls each `{name: id}` until settled or `within` seconds; results in the mapping's order."""
    deadline = clock() + within
    polls = [
        _poll(client, name, sub_id, deadline, initial=initial, cap=cap, sleep=sleep, clock=clock)
        for name, sub_id in subscriptions.items()
    ]
    return list(await asyncio.gather(*polls))
