"""A saturated endpoint does not make the dispatcher spin, nor lease once per delivery.

An endpoint that accepts connections and never answers holds every slot it is allowed; the rest of
its deliveries are due but left out of the lease. The dispatcher must then sleep until a slot frees or
something new is due, not until "the earliest due delivery", which is already in the past: that woke
it about every millisecond for a lease that could take nothing.

The window is counted in the dispatcher's own lease renewals (every third of the lease time), not in
seconds: the assertion is on how many lease calls fit between two renewals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from ccbridge.config import DeliveryConfig
from ccbridge.core.event import DeliveryJob
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.delivery.dispatcher import LEASE_BATCH, Dispatcher
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.endpoints.webhook import WebhookEndpoint
from ccbridge.observability.metrics import Metrics
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event, sample_subscription

DUE = 2000
SLOTS = 4
MAX_LEASES_PER_TWO_RENEWALS = 20


class CallsCounted(SqliteStore):
    """The real store; counts `lease` calls and announces each `renew`."""

    def __init__(self, path: str, clock: ManualClock) -> None:
        super().__init__(path, SubscriptionRouter(), clock=clock)
        self.leases = 0
        self.renewals = 0
        self._renewed = asyncio.Condition()

    async def lease(
        self, owner: str, limit: int, lease_seconds: float, exclude_endpoints: Sequence[str] = ()
    ) -> list[DeliveryJob]:
        self.leases += 1
        return await super().lease(owner, limit, lease_seconds, exclude_endpoints)

    async def renew(self, owner: str, delivery_ids: Sequence[int], lease_seconds: float) -> int:
        count = await super().renew(owner, delivery_ids, lease_seconds)
        async with self._renewed:
            self.renewals += 1
            self._renewed.notify_all()
        return count

    async def renewals_reach(self, n: int) -> None:
        async with self._renewed:
            await asyncio.wait_for(self._renewed.wait_for(lambda: self.renewals >= n), 30)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[CallsCounted]:
    s = CallsCounted(str(tmp_path / "store.db"), clock)
    await s.open()
    yield s
    await s.close()


async def test_a_hanging_endpoint_with_thousands_due_is_not_polled_in_a_loop(
    store: CallsCounted, clock: ManualClock
) -> None:
    async with WebhookReceiver(Behaviour(delay=3600)) as hanging:
        await store.create_subscription(sample_subscription("s1", "hangs", urls=[hanging.url], secret=""), 10)
        await asyncio.gather(*(store.append_event(sample_event(n)) for n in range(DUE)))
        config = DeliveryConfig(
            per_endpoint_concurrency=SLOTS,
            allowed_networks=["127.0.0.0/8"],
            lease_seconds=1.5,
            timeout_seconds=3600,
            poll_interval_ms=250,
        )
        endpoint = WebhookEndpoint(NetworkPolicy(allowed_networks=config.allowed_networks))
        worker = Dispatcher(store, {"webhook": endpoint}, config, Metrics(), clock=clock)
        worker.start()
        try:
            await hanging.wait_for(SLOTS, timeout=10)
            await store.renewals_reach(1)
            leases_before, renewals_before = store.leases, store.renewals
            await store.renewals_reach(renewals_before + 2)
            leases = store.leases - leases_before
        finally:
            await worker.stop(grace=0)
        print(f"\n{leases} lease calls between two renewals with {DUE} due to a saturated endpoint")
        assert len(hanging.received) == SLOTS  # the endpoint's limit held
    assert leases <= MAX_LEASES_PER_TWO_RENEWALS
    assert (await store.backlog()).pending == DUE  # nothing was settled or lost meanwhile


BACKLOG = 640


async def test_deliveries_finishing_at_an_endpoint_still_at_its_limit_do_not_each_cost_a_lease(
    store: CallsCounted, clock: ManualClock
) -> None:
    """One lease takes up to LEASE_BATCH deliveries, so an endpoint with a backlog has far more
    leased than its limit lets run; each one finishing frees a slot the lease could not use (the
    endpoint is still at its limit). Leases stay about two per lease batch (the one that takes it, the
    one that finds the endpoint at its limit), not one per burst of finished deliveries. The poll
    interval is long so that only wakes are counted: a missed wake shows as the test timing out."""
    async with WebhookReceiver(Behaviour()) as fast:
        await store.create_subscription(sample_subscription("s1", "fast", urls=[fast.url], secret=""), 10)
        await asyncio.gather(*(store.append_event(sample_event(n)) for n in range(BACKLOG)))
        config = DeliveryConfig(
            per_endpoint_concurrency=SLOTS, allowed_networks=["127.0.0.0/8"], poll_interval_ms=10_000
        )
        endpoint = WebhookEndpoint(NetworkPolicy(allowed_networks=config.allowed_networks))
        worker = Dispatcher(store, {"webhook": endpoint}, config, Metrics(), clock=clock)
        leases_before = store.leases
        worker.start()
        try:
            await fast.wait_for(BACKLOG, timeout=60)
        finally:
            await worker.stop(grace=5)
        leases = store.leases - leases_before
        print(f"\n{leases} lease calls to deliver {BACKLOG} to one endpoint ({SLOTS} at a time)")
    batches = BACKLOG // LEASE_BATCH
    assert leases <= 2 * batches + 4, leases  # a wake per finished burst before: 28 here
    assert (await store.backlog()).pending == 0
