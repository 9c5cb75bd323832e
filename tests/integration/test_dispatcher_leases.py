"""The dispatcher's leases: renewed while it holds them (a delivery waiting its turn longer than the
lease is not taken and sent a second time), and on stop the deliveries being sent get the grace
period while the rest are handed back at once, so the next process need not wait for expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from ccbridge.config import DeliveryConfig
from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.ports import Settlement
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.delivery.dispatcher import Dispatcher
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.endpoints.webhook import WebhookEndpoint
from ccbridge.observability.metrics import Metrics
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing import Behaviour, WebhookReceiver


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter())
    await s.open()
    yield s
    await s.close()


async def queue_three(store: SqliteStore, url: str) -> None:
    await store.create_subscription(
        Subscription(
            id="s1",
            name="slow",
            dialect="cxone",
            event_types=("contact.created",),
            endpoints=(EndpointSpec(url),),
            secret="",
            created_at="t",
            updated_at="t",
        ),
        10,
    )
    for n in range(3):
        await store.append_event(
            Event(
                id=f"evt-{n}",
                type="contact.created",
                source="test",
                time="2026-11-24T10:00:00Z",
                data={"n": n},
                dialect="cxone",
                correlation_id=f"c-{n}",
                received_at="2026-11-24T10:00:00Z",
            )
        )


def dispatcher(store: SqliteStore, lease_seconds: float = 30) -> Dispatcher:
    config = DeliveryConfig(
        per_endpoint_concurrency=1,
        allowed_networks=["127.0.0.0/8"],
        lease_seconds=lease_seconds,
        poll_interval_ms=50,
    )
    endpoint = WebhookEndpoint(NetworkPolicy(allowed_networks=config.allowed_networks))
    return Dispatcher(store, {"webhook": endpoint}, config, Metrics())


async def test_the_delivery_being_sent_finishes_and_the_waiting_ones_are_handed_back(
    store: SqliteStore,
) -> None:
    async with WebhookReceiver(Behaviour(delay=0.3)) as receiver:
        await queue_three(store, receiver.url)
        worker = dispatcher(store)
        worker.start()
        await receiver.wait_for(1, timeout=10)
        await worker.stop(grace=5)
        await asyncio.sleep(0.5)  # a waiting delivery wrongly sent during the grace would show now
        assert len(receiver.received) == 1
    assert (await store.delivery_counts("s1")).delivered == 1
    assert len(await store.lease("next-process", 10, 30)) == 2  # no lease left to expire


async def test_a_delivery_cut_off_after_the_grace_is_handed_back_too(store: SqliteStore) -> None:
    async with WebhookReceiver(Behaviour(delay=5)) as receiver:
        await queue_three(store, receiver.url)
        worker = dispatcher(store)
        worker.start()
        await receiver.wait_for(1, timeout=10)
        await worker.stop(grace=0.1)
        assert len(receiver.received) == 1
    assert (await store.delivery_counts("s1")).delivered == 0
    assert len(await store.lease("next-process", 10, 30)) == 3


async def test_a_lease_shorter_than_the_wait_is_renewed_not_taken_again(
    store: SqliteStore, tmp_path: Path
) -> None:
    """Three deliveries to one endpoint, one at a time, 0.5 s each: the last waits 1 s, longer than
    the 0.6 s lease. Renewed every 0.2 s, none expires: a second process on the same file finds
    nothing to take while they wait, and each event is sent exactly once."""
    other = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter())
    await other.open()
    async with WebhookReceiver(Behaviour(delay=0.5)) as receiver:
        await queue_three(store, receiver.url)
        worker = dispatcher(store, lease_seconds=0.6)
        worker.start()
        try:
            await receiver.wait_for(1, timeout=10)
            await asyncio.sleep(0.6)  # unrenewed, every lease would have expired by now
            taken = await other.lease("other-process", 10, 30)
            await receiver.wait_for(3, timeout=10)
        finally:
            await worker.stop(grace=5)
            await other.close()
        ids = [r.json()["id"] for r in receiver.received]
    assert taken == []
    assert sorted(ids) == ["evt-0", "evt-1", "evt-2"]
    assert (await store.delivery_counts("s1")).delivered == 3


class FailingSettleStore(SqliteStore):
    """The real store, but the first settlement's commit fails (as on a full disk)."""

    failed = False

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None:
        if not self.failed:
            self.failed = True
            raise OSError("disk full")
        await super().settle(owner, settlements)


async def test_a_delivery_whose_settlement_failed_is_not_kept_leased(tmp_path: Path) -> None:
    """The lease of a delivery whose settlement did not commit is no longer renewed (nobody works on
    it), so it expires and the delivery is retried, even while the dispatcher stays busy with others:
    never stuck behind a lease renewed forever."""
    store = FailingSettleStore(str(tmp_path / "store.db"), SubscriptionRouter())
    other = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter())
    await store.open()
    await other.open()
    try:
        async with WebhookReceiver(Behaviour(delay=1.0)) as receiver:
            await queue_three(store, receiver.url)
            worker = dispatcher(store, lease_seconds=0.6)
            worker.start()
            try:
                # evt-0 is answered at 1 s and its settlement fails; evt-1 and evt-2 keep the
                # endpoint busy until 3 s, so this dispatcher cannot take evt-0 again before then
                await receiver.wait_for(3, timeout=10)
                await asyncio.sleep(0.2)
                taken = await other.lease("other-process", 10, 30)
            finally:
                await worker.stop(grace=5)
        assert store.failed
        assert [job.event.id for job in taken] == ["evt-0"]
    finally:
        await other.close()
        await store.close()
