"""The real dispatcher with its endpoint guard, on a real SQLite file, sending to real receivers; time
is a ManualClock moved by the tests. Each phase waits for the dispatcher to be idle with nothing due
(quiescent), so what has been received by then is all that will be at that instant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from ccbridge.config import DeliveryConfig
from ccbridge.core.endpoint_health import BreakerPolicy
from ccbridge.core.event import EndpointSpec, RetrySpec
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.delivery.breaker import EndpointGuard
from ccbridge.delivery.dispatcher import Dispatcher
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.endpoints.webhook import WebhookEndpoint
from ccbridge.observability.metrics import Metrics
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event, sample_subscription
from ccbridge.testing.server import wait_until

POLICY = BreakerPolicy(failures=3, probe_initial_seconds=10, probe_max_seconds=40, disable_after_seconds=1000)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def open_store(tmp_path: Path, clock: ManualClock) -> SqliteStore:
    return SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=clock)


@pytest.fixture
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[SqliteStore]:
    s = open_store(tmp_path, clock)
    await s.open()
    yield s
    await s.close()


class Worker:
    """A dispatcher with its guard and metrics, the way bootstrap wires them."""

    def __init__(self, store: SqliteStore, clock: ManualClock, policy: BreakerPolicy = POLICY) -> None:
        self.store = store
        self.metrics = Metrics()
        config = DeliveryConfig(allowed_networks=["127.0.0.0/8"], lease_seconds=30, poll_interval_ms=20)
        # the breaker view read again at every cycle: each phase starts with the shared state seen
        guard = EndpointGuard(
            store, store, policy, f"guard-{id(self)}", self.metrics, clock.now, refresh_seconds=0
        )
        self.dispatcher = Dispatcher(
            store,
            {"webhook": WebhookEndpoint(NetworkPolicy(allowed_networks=["127.0.0.0/8"]))},
            config,
            self.metrics,
            clock=clock,
            guard=guard,
        )
        store.add_listener(self.dispatcher.notify)

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    def deferred(self, reason: str) -> float:
        return self.sample("ccbridge_deliveries_deferred_total", reason=reason)


async def quiescent(clock: ManualClock, *workers: Worker) -> bool:
    """Nothing in flight anywhere and nothing due at the clock's instant."""
    if any(w.sample("ccbridge_deliveries_in_flight") for w in workers):
        return False
    due = await workers[0].store.next_due()
    return due is None or due > clock.now()


async def settle_down(clock: ManualClock, *workers: Worker) -> None:
    for w in workers:
        w.dispatcher.notify()
    assert await wait_until(lambda: quiescent(clock, *workers), timeout=10)


async def test_the_breaker_opens_pauses_probes_one_at_a_time_and_closes(
    store: SqliteStore, clock: ManualClock
) -> None:
    """Three failures open the breaker; the deliveries then wait (no attempt spent, no dead letter,
    though their retry policy allows one retry only); one probe at a time, with backoff; a
    successful probe closes it and the rest are delivered."""
    async with WebhookReceiver() as receiver:
        receiver.behave(status=503)
        sub = replace(
            sample_subscription("s1", "hook", urls=[receiver.url], secret=""),
            retry=RetrySpec(max_retries=1, initial_delay_ms=1000, max_delay_ms=1000),
        )
        await store.create_subscription(sub, 10)
        for n in range(5):
            await store.append_event(sample_event(n))
        worker = Worker(store, clock)
        worker.dispatcher.start()
        try:
            await settle_down(clock, worker)
            [record] = await store.endpoint_health("s1")
            assert (record.state, len(receiver.received)) == ("open", 5)
            gauge = ("ccbridge_endpoint_breaker_state", {"subscription_id": "s1", "endpoint": receiver.url})
            assert worker.sample(gauge[0], **gauge[1]) == 1

            clock.advance(5)  # the retries of the first two failures come due: they wait for the probe
            await settle_down(clock, worker)
            assert worker.deferred("breaker_open") >= 2 and len(receiver.received) == 5

            clock.advance(5)  # the first probe: one delivery, and it fails
            await settle_down(clock, worker)
            [record] = await store.endpoint_health("s1")
            assert (record.state, record.failed_probes, len(receiver.received)) == ("open", 1, 6)

            receiver.behave(status=200)
            clock.advance(20)  # the second probe (backoff doubled) succeeds and the rest follow
            await settle_down(clock, worker)
            counts = await store.delivery_counts("s1")
            [record] = await store.endpoint_health("s1")
        finally:
            await worker.dispatcher.stop(grace=1)
    assert (counts.delivered, counts.dead_lettered, counts.pending) == (5, 0, 0)
    assert record.state == "closed" and len(receiver.received) == 11
    assert worker.sample(gauge[0], **gauge[1]) == 0


async def test_failing_past_the_limit_disables_the_endpoint_and_announces_it(
    store: SqliteStore, clock: ManualClock
) -> None:
    """After `disable_after_seconds` failing the endpoint is disabled, its deliveries become dead
    letters, and `ccbridge.endpoint.disabled` is delivered to a subscriber of that type."""
    async with WebhookReceiver() as failing, WebhookReceiver() as ops:
        failing.behave(status=500)
        await store.create_subscription(sample_subscription("s1", "hook", urls=[failing.url], secret=""), 10)
        watcher = sample_subscription(
            "s2", "ops", urls=[ops.url], secret="", type_="ccbridge.endpoint.disabled"
        )
        await store.create_subscription(watcher, 10)
        for n in range(3):
            await store.append_event(sample_event(n))
        worker = Worker(store, clock, replace(POLICY, probe_initial_seconds=1000))
        worker.dispatcher.start()
        try:
            await settle_down(clock, worker)
            clock.advance(1000)  # the probe fails 1000 s after the first failure
            await settle_down(clock, worker)
            # a delivery leased while the probe was out waits out the probe's lease at most
            clock.advance(POLICY.probe_lease_seconds)
            await settle_down(clock, worker)
            await ops.wait_for(1)
            counts = await store.delivery_counts("s1")
            [record] = await store.endpoint_health("s1")
            letters = await store.list_dead_letters("s1")
        finally:
            await worker.dispatcher.stop(grace=1)
    assert (record.state, record.disabled_by, record.notified) == ("disabled", "breaker", True)
    assert (counts.dead_lettered, counts.pending) == (3, 0)
    assert all(letter.reason and letter.reason.startswith("endpoint disabled") for letter in letters)
    [announced] = ops.received
    body = announced.json()
    assert body["event"] == "ccbridge.endpoint.disabled"
    assert body["data"]["subscriptionId"] == "s1" and body["data"]["reason"] == "failing"
    assert len(failing.received) == 4  # three first tries, one probe


async def test_410_gone_disables_at_once(store: SqliteStore, clock: ManualClock) -> None:
    """A `410 Gone` answer disables the endpoint on the first attempt, announced with reason gone."""
    async with WebhookReceiver() as gone, WebhookReceiver() as ops:
        gone.behave(status=410)
        await store.create_subscription(sample_subscription("s1", "hook", urls=[gone.url], secret=""), 10)
        watcher = sample_subscription(
            "s2", "ops", urls=[ops.url], secret="", type_="ccbridge.endpoint.disabled"
        )
        await store.create_subscription(watcher, 10)
        await store.append_event(sample_event(1))
        worker = Worker(store, clock)
        worker.dispatcher.start()
        try:
            [announced] = await ops.wait_for(1)
            await settle_down(clock, worker)
            [record] = await store.endpoint_health("s1")
            counts = await store.delivery_counts("s1")
        finally:
            await worker.dispatcher.stop(grace=1)
    assert (record.state, record.disabled_by) == ("disabled", "gone")
    assert counts.dead_lettered == 1 and announced.json()["data"]["reason"] == "gone"


async def test_the_rate_limit_holds_across_two_processes(tmp_path: Path, clock: ManualClock) -> None:
    """Two dispatchers on two store instances of one file send to an endpoint limited to one a
    second: one delivery at the first instant between them, never more than one more per second,
    and every delivery in the end, none dropped."""
    a, b = open_store(tmp_path, clock), open_store(tmp_path, clock)
    await a.open()
    await b.open()
    async with WebhookReceiver() as receiver:
        limited = replace(
            sample_subscription("s1", "hook", secret=""),
            endpoints=(EndpointSpec(receiver.url, "webhook", rate_limit_per_second=1),),
        )
        await a.create_subscription(limited, 10)
        for n in range(4):
            await a.append_event(sample_event(n))
        workers = [Worker(a, clock), Worker(b, clock)]
        for w in workers:
            w.dispatcher.start()
        seen = []
        try:
            for _ in range(8):
                await settle_down(clock, *workers)
                seen.append(len(receiver.received))
                clock.advance(1)
            counts = await a.delivery_counts("s1")
        finally:
            for w in workers:
                await w.dispatcher.stop(grace=1)
            await a.close()
            await b.close()
    assert seen[0] == 1 and all(n <= second + 1 for second, n in enumerate(seen))
    assert seen[-1] == 4 and counts.delivered == 4
    assert sum(w.deferred("rate_limit") for w in workers) >= 3


async def test_two_processes_share_one_breaker_and_probe_once_between_them(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Two dispatchers on one file: their failures open one breaker, and when the probe is due only
    one delivery is sent between them; its success closes the breaker for both."""
    a, b = open_store(tmp_path, clock), open_store(tmp_path, clock)
    await a.open()
    await b.open()
    async with WebhookReceiver() as receiver:
        receiver.behave(status=503)
        await a.create_subscription(sample_subscription("s1", "hook", urls=[receiver.url], secret=""), 10)
        for n in range(8):
            await a.append_event(sample_event(n))
        workers = [Worker(a, clock), Worker(b, clock)]
        for w in workers:
            w.dispatcher.start()
        try:
            await settle_down(clock, *workers)
            [record] = await b.endpoint_health("s1")
            first = len(receiver.received)
            clock.advance(10)
            await settle_down(clock, *workers)
            probed = len(receiver.received)
            receiver.behave(status=200)
            clock.advance(20)
            await settle_down(clock, *workers)
            counts = await a.delivery_counts("s1")
            [closed] = await a.endpoint_health("s1")
        finally:
            for w in workers:
                await w.dispatcher.stop(grace=1)
            await a.close()
            await b.close()
    assert record.state == "open" and first == 8
    assert probed == first + 1
    assert closed.state == "closed" and (counts.delivered, counts.dead_lettered) == (8, 0)
