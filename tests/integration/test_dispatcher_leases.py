"""The dispatcher's leases: renewed while it holds them (a delivery waiting its turn longer than the
lease is not taken and sent a second time), and on stop the deliveries being sent get the grace
period while the rest are handed back at once, so the next process need not wait for expiry.

Lease terms run on a `ManualClock` shared by the dispatcher and the stores: a lease expires when the
test moves the clock, never because the machine was slow. The receiver's delays only keep an endpoint
busy; nothing here measures time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from ccbridge.config import DeliveryConfig
from ccbridge.core.ports import Settlement
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.delivery.dispatcher import Dispatcher
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.endpoints.webhook import WebhookEndpoint
from ccbridge.observability.metrics import Metrics
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event, sample_subscription


class RenewalsSeen(SqliteStore):
    """The real store; each `renew` call is recorded (ids, clock time) and announced, so a test can
    wait for the renewal that follows a move of the clock."""

    def __init__(self, path: str, clock: ManualClock) -> None:
        super().__init__(path, SubscriptionRouter(), clock=clock)
        self.clock = clock
        self.renewals: list[tuple[float, list[int]]] = []
        self._renewed = asyncio.Condition()

    async def renew(self, owner: str, delivery_ids: Sequence[int], lease_seconds: float) -> int:
        at = self.clock.now()  # what the renewal's term counts from (read before the call, as the store does)
        count = await super().renew(owner, delivery_ids, lease_seconds)
        async with self._renewed:
            self.renewals.append((at, list(delivery_ids)))
            self._renewed.notify_all()
        return count

    async def renewed_at_or_after(self, t: float) -> list[int]:
        """The ids of the first renewal made at clock time `t` or later (waits for it)."""
        async with self._renewed:
            await asyncio.wait_for(self._renewed.wait_for(lambda: self._after(t) is not None), 10)
        found = self._after(t)
        assert found is not None
        return found

    def _after(self, t: float) -> list[int] | None:
        return next((ids for at, ids in self.renewals if at >= t), None)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[RenewalsSeen]:
    s = RenewalsSeen(str(tmp_path / "store.db"), clock)
    await s.open()
    yield s
    await s.close()


async def queue_three(store: SqliteStore, url: str) -> None:
    await store.create_subscription(sample_subscription("s1", "slow", urls=[url], secret=""), 10)
    for n in range(3):
        await store.append_event(sample_event(n))


def dispatcher(
    store: SqliteStore, clock: ManualClock, lease_seconds: float = 30, metrics: Metrics | None = None
) -> Dispatcher:
    config = DeliveryConfig(
        per_endpoint_concurrency=1,
        allowed_networks=["127.0.0.0/8"],
        lease_seconds=lease_seconds,
        poll_interval_ms=50,
    )
    endpoint = WebhookEndpoint(NetworkPolicy(allowed_networks=config.allowed_networks))
    return Dispatcher(store, {"webhook": endpoint}, config, metrics or Metrics(), clock=clock)


def in_flight(metrics: Metrics) -> float:
    """The dispatcher's `ccbridge_deliveries_in_flight` gauge, as a scrape reads it."""
    for line in metrics.render().decode().splitlines():
        if line.startswith("ccbridge_deliveries_in_flight "):
            return float(line.split()[1])
    raise AssertionError("no ccbridge_deliveries_in_flight in /metrics")


async def test_the_delivery_being_sent_finishes_and_the_waiting_ones_are_handed_back(
    store: RenewalsSeen, clock: ManualClock
) -> None:
    """One delivery is being sent when stop() is called: it finishes within the grace; the two waiting
    for the endpoint's one slot were never sent and are leasable at once by the next process, still
    on their first attempt."""
    async with WebhookReceiver(Behaviour(delay=0.3)) as receiver:
        await queue_three(store, receiver.url)
        worker = dispatcher(store, clock)
        worker.start()
        await receiver.wait_for(1, timeout=10)
        await worker.stop(grace=5)
        assert len(receiver.received) == 1
    assert (await store.delivery_counts("s1")).delivered == 1
    handed_back = await store.lease("next-process", 10, 30)  # no lease left to expire: the clock is still
    assert [job.attempt for job in handed_back] == [1, 1]


async def test_a_delivery_cut_off_after_the_grace_is_handed_back_too(
    store: RenewalsSeen, clock: ManualClock
) -> None:
    async with WebhookReceiver(Behaviour(delay=5)) as receiver:
        await queue_three(store, receiver.url)
        worker = dispatcher(store, clock)
        worker.start()
        await receiver.wait_for(1, timeout=10)
        await worker.stop(grace=0.1)
        assert len(receiver.received) == 1
    assert (await store.delivery_counts("s1")).delivered == 0
    assert len(await store.lease("next-process", 10, 30)) == 3


async def test_a_lease_shorter_than_the_wait_is_renewed_not_taken_again(
    store: RenewalsSeen, clock: ManualClock, tmp_path: Path
) -> None:
    """Three deliveries to one endpoint, one at a time: the last waits longer than the lease. The
    clock moves past the first term only after a renewal, so a second process on the same file finds
    nothing to take while they wait, and each event is sent exactly once."""
    other = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=clock)
    await other.open()
    async with WebhookReceiver(Behaviour(delay=0.5)) as receiver:
        await queue_three(store, receiver.url)
        worker = dispatcher(store, clock, lease_seconds=0.6)
        worker.start()
        try:
            await receiver.wait_for(1, timeout=10)
            clock.advance(0.4)
            await store.renewed_at_or_after(clock.now())
            clock.advance(0.4)  # past every lease's first term, inside the renewed one
            taken = await other.lease("other-process", 10, 30)
            await receiver.wait_for(3, timeout=10)
        finally:
            await worker.stop(grace=5)
            await other.close()
        ids = [r.json()["id"] for r in receiver.received]
    assert taken == []
    assert sorted(ids) == ["evt-0", "evt-1", "evt-2"]
    assert (await store.delivery_counts("s1")).delivered == 3


class FailingSettleStore(RenewalsSeen):
    """The real store, but the first settlement's commit fails (as on a full disk)."""

    failed = False

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None:
        if not self.failed:
            self.failed = True
            raise OSError("disk full")
        await super().settle(owner, settlements)


async def test_a_delivery_whose_settlement_failed_is_not_kept_leased(
    tmp_path: Path, clock: ManualClock
) -> None:
    """The lease of a delivery whose settlement did not commit is no longer renewed (nobody works on
    it), so it expires and the delivery is retried, even while the dispatcher stays busy with others:
    never stuck behind a lease renewed forever."""
    store = FailingSettleStore(str(tmp_path / "store.db"), clock)
    other = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=clock)
    await store.open()
    await other.open()
    try:
        async with WebhookReceiver(Behaviour(delay=1.0)) as receiver:
            await queue_three(store, receiver.url)
            metrics = Metrics()
            worker = dispatcher(store, clock, lease_seconds=0.6, metrics=metrics)
            worker.start()
            try:
                # evt-0 is answered after 1 s and its settlement fails; evt-1 and evt-2 keep the
                # endpoint busy, so this dispatcher cannot take evt-0 again meanwhile
                await receiver.wait_for(2, timeout=10)
                for _ in range(1000):  # until evt-0's task has ended with the failed commit
                    if store.failed and in_flight(metrics) == 2:
                        break
                    await asyncio.sleep(0.01)
                assert store.failed and in_flight(metrics) == 2
                clock.advance(0.4)
                renewed = await store.renewed_at_or_after(clock.now())
                clock.advance(0.3)  # past evt-0's only term, inside the renewed ones
                taken = await other.lease("other-process", 10, 30)
            finally:
                await worker.stop(grace=5)
        assert [job.event.id for job in taken] == ["evt-0"]
        assert taken[0].id not in renewed
    finally:
        await other.close()
        await store.close()
