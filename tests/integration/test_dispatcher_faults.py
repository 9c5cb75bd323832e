"""Endpoints having a bad day: one that hangs, one that refuses connections, one that is down for a
while and then back. Nothing is lost (each delivery ends delivered, or dead-lettered with the reason,
none left pending) and retries are spaced by the subscription's policy.

Time is a `ManualClock` shared by the dispatcher and the store: the spacing is checked against the
policy's schedule from each settlement's clock time, and the test moves the clock to the next retry
once every delivery has settled its attempt, so nothing depends on how fast the machine is."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ccbridge.config import DeliveryConfig
from ccbridge.core.event import RetrySpec
from ccbridge.core.ports import Settlement
from ccbridge.core.retry import RetryPolicy
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.delivery.dispatcher import Dispatcher
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.endpoints.webhook import WebhookEndpoint
from ccbridge.observability.metrics import Metrics
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event, sample_subscription

RETRY = RetrySpec(max_retries=3, strategy="exponential", initial_delay_ms=1000, max_delay_ms=3000)
POLICY = RetryPolicy.from_spec(RETRY)
EVENTS = 5


class SettlementsSeen(SqliteStore):
    """The real store; every settlement is recorded with the clock time it was made at."""

    def __init__(self, path: str, clock: ManualClock) -> None:
        super().__init__(path, SubscriptionRouter(), clock=clock)
        self.clock = clock
        self.settled: list[tuple[float, Settlement]] = []
        self._changed = asyncio.Condition()

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None:
        at = self.clock.now()
        await super().settle(owner, settlements)
        async with self._changed:
            self.settled.extend((at, s) for s in settlements)
            self._changed.notify_all()

    async def settled_count(self, n: int) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.settled) >= n), 30)


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_hanging_refusing_and_flapping_endpoints_lose_nothing_and_retry_on_schedule(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    store = SettlementsSeen(str(tmp_path / "store.db"), clock)
    await store.open()
    async with (
        WebhookReceiver(Behaviour(delay=3600)) as hanging,
        WebhookReceiver(Behaviour(fail_first=2 * EVENTS, fail_status=503)) as flapping,
    ):
        urls = {
            "hangs": hanging.url,
            "refuses": f"http://127.0.0.1:{closed_port()}/hook",
            "flaps": flapping.url,
        }
        for name, url in urls.items():
            sub = replace(sample_subscription(name, name, urls=[url], secret=""), retry=RETRY)
            await store.create_subscription(sub, 10)
        for n in range(EVENTS):
            await store.append_event(sample_event(n))
        config = DeliveryConfig(allowed_networks=["127.0.0.0/8"], timeout_seconds=0.3, poll_interval_ms=50)
        endpoint = WebhookEndpoint(NetworkPolicy(allowed_networks=config.allowed_networks))
        worker = Dispatcher(store, {"webhook": endpoint}, config, Metrics(), clock=clock)
        worker.start()
        try:
            await store.settled_count(len(urls) * EVENTS)  # every first attempt
            while retrying := still_retrying(store):  # then one round per retry: all due at once
                clock.t = max(clock.t, *(s.next_attempt_at or 0.0 for s in retrying))
                worker.notify()
                await store.settled_count(len(store.settled) + len(retrying))
        finally:
            await worker.stop(grace=0)
        counts = {name: await store.delivery_counts(name) for name in urls}
        letters = {name: await store.list_dead_letters(name) for name in urls}
    await store.close()

    assert counts["flaps"].delivered == EVENTS and counts["flaps"].dead_lettered == 0
    for name in ("hangs", "refuses"):
        assert counts[name].dead_lettered == EVENTS and counts[name].pending == counts[name].retrying == 0
        assert all(
            (letter.reason or "").startswith(f"gave up after {RETRY.max_retries + 1} attempts")
            for letter in letters[name]
        )
    retries = [(at, s) for at, s in store.settled if s.state == "retry"]
    assert retries
    for at, s in retries:
        base = POLICY.base_delay(s.attempt)
        assert s.next_attempt_at is not None
        assert base / 2 <= s.next_attempt_at - at <= base, (s, at)
    print(
        f"\n{len(store.settled)} settlements, {len(retries)} retries, each within the policy's [base/2, base]"
    )


def still_retrying(store: SettlementsSeen) -> list[Settlement]:
    """The latest settlement of each delivery whose latest one is a retry."""
    latest = {s.delivery_id: s for _, s in store.settled}
    return [s for s in latest.values() if s.state == "retry"]
