"""The store's backpressure (`limits.max_pending`): an append whose deliveries would take the unsettled
deliveries across the store past the limit writes nothing and raises `Overloaded`; everything that
settles, cancels or re-queues a delivery moves the count, in this instance and in others on the same
data. Written against the `Store` protocol only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from store_backends import Feature

from ccbridge.core.ports import Settlement, Store
from ccbridge.errors import Overloaded, Unavailable
from ccbridge.testing.samples import sample_event as event
from ccbridge.testing.samples import sample_subscription as subscription


@pytest.fixture
async def limited(make_limited: Callable[[int], Store]) -> AsyncIterator[Store]:
    """At most 3 pending deliveries; subscription s1 gives every contact.created event 2."""
    store = make_limited(3)
    await store.open()
    await store.create_subscription(subscription("s1", "a", endpoints=2), 10)
    yield store
    await store.close()


async def test_an_append_past_the_limit_writes_nothing_and_says_when_to_retry(limited: Store) -> None:
    await limited.append_event(event(1, key="k1"))
    with pytest.raises(Overloaded) as refused:
        await limited.append_event(event(2, key="k2"))
    assert isinstance(refused.value, Unavailable) and (refused.value.retry_after or 0) >= 1
    assert await limited.get_event("evt-2") is None
    backlog = await limited.backlog()
    assert (backlog.pending, backlog.limit, backlog.refused) == (2, 3, 1)
    assert (await limited.delivery_counts("s1")).backpressure is not None


async def test_repeats_and_events_that_route_nowhere_still_pass(limited: Store) -> None:
    await limited.append_event(event(1, key="k1"))
    again = await limited.append_event(event(9, key="k1"))
    assert not again.created and again.event.id == "evt-1"
    elsewhere = await limited.append_event(event(3, type_="queue.event"))
    assert elsewhere.created and elsewhere.deliveries == 0


async def test_settling_cancelling_and_replaying_move_the_count(limited: Store) -> None:
    await limited.append_event(event(1))
    first, second = await limited.lease("w", 10, 30)
    await limited.settle("w", [Settlement(first.id, "delivered", 1, status=200)])
    await limited.settle("w", [Settlement(second.id, "dead", 1, status=400, error="HTTP 400")])
    assert (await limited.delivery_counts("s1")).backpressure is None
    await limited.append_event(event(2))  # 2 pending again: room for none more
    with pytest.raises(Overloaded):
        await limited.append_event(event(3))
    assert await limited.replay_dead_letters() == 1  # replays are never refused: 3 pending
    with pytest.raises(Overloaded):
        await limited.append_event(event(4))
    await limited.create_subscription(subscription("s2", "b", type_="queue.event"), 10)
    assert await limited.delete_subscription("s1")  # its 3 pending are cancelled
    assert (await limited.backlog()).pending == 0
    await limited.create_subscription(subscription("s3", "c", endpoints=2), 10)
    assert (await limited.append_event(event(5))).deliveries == 2


async def test_a_retry_stays_pending_and_counted(limited: Store) -> None:
    await limited.append_event(event(1))
    [job, _] = await limited.lease("w", 10, 30)
    await limited.settle("w", [Settlement(job.id, "retry", 1, error="HTTP 503", next_attempt_at=0)])
    with pytest.raises(Overloaded):
        await limited.append_event(event(2))


@pytest.mark.needs(Feature.DURABLE)
async def test_the_count_survives_reopening(make_limited: Callable[[int], Store]) -> None:
    first = make_limited(3)
    await first.open()
    await first.create_subscription(subscription("s1", "a", endpoints=2), 10)
    await first.append_event(event(1))
    await first.close()
    second = make_limited(3)
    await second.open()
    try:
        with pytest.raises(Overloaded):
            await second.append_event(event(2))
    finally:
        await second.close()


@pytest.mark.needs(Feature.SHARED)
async def test_instances_on_the_same_data_share_the_limit(make_limited: Callable[[int], Store]) -> None:
    """What another instance (process) added or settled counts here too."""
    one, two = make_limited(3), make_limited(3)
    await one.open()
    await two.open()
    try:
        await one.create_subscription(subscription("s1", "a", endpoints=2), 10)
        await one.append_event(event(1))
        with pytest.raises(Overloaded):
            await two.append_event(event(2))
        jobs = await one.lease("w", 10, 30)
        await one.settle("w", [Settlement(j.id, "delivered", 1, status=200) for j in jobs])
        assert (await two.append_event(event(2))).deliveries == 2
    finally:
        await one.close()
        await two.close()


async def test_queue_deliveries_are_leased_and_count_like_the_others(
    make_limited: Callable[[int], Store],
) -> None:
    """A queue endpoint's deliveries are leased and settled as webhooks' are, so they count toward the
    limit while unsettled and free their place when delivered or cancelled."""
    from dataclasses import replace

    from ccbridge.core.event import EndpointSpec

    store = make_limited(2)
    await store.open()
    try:
        queued = replace(
            subscription("q", "queue"), endpoints=(EndpointSpec("nats://127.0.0.1:4222/orders", "queue"),)
        )
        await store.create_subscription(queued, 10)
        assert (await store.append_event(event(1))).deliveries == 1
        assert (await store.append_event(event(2))).deliveries == 1
        with pytest.raises(Overloaded):
            await store.append_event(event(3))
        jobs = await store.lease("w", 10, 30)
        assert sorted((j.event.id, j.endpoint) for j in jobs) == [
            ("evt-1", EndpointSpec("nats://127.0.0.1:4222/orders", "queue")),
            ("evt-2", EndpointSpec("nats://127.0.0.1:4222/orders", "queue")),
        ]
        await store.settle("w", [Settlement(jobs[0].id, "delivered", 1)])
        assert (await store.append_event(event(3))).deliveries == 1  # the delivered one freed its place
        with pytest.raises(Overloaded):
            await store.append_event(event(4))
        assert await store.delete_subscription("q")  # cancelling the pending ones frees theirs
        await store.create_subscription(replace(queued, id="q2", name="q2"), 10)
        assert (await store.append_event(event(4))).deliveries == 1
    finally:
        await store.close()
