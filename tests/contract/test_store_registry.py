"""The registry outbox (seed 001's registry sync from the server, `core.registry`) on every backend:
each subscription write queues its notice in the write's transaction, a delivery-state change is
queued once however many store instances see it, and without a registry nothing is queued."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from store_backends import Feature

from ccbridge.core.event import EndpointSpec
from ccbridge.core.ports import Settlement, Store
from ccbridge.core.registry import REGISTRY_EVENT_TYPE, REGISTRY_SUBSCRIPTION
from ccbridge.errors import ConflictError
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_subscription as subscription

REGISTRY = EndpointSpec("https://registry.example/api/v1/sync", "webhook")


async def notices(store: Store) -> list[tuple[str, str]]:
    """Every due notice as (subscriptionId, state), leased and settled as delivered."""
    jobs = [j for j in await store.lease("w", 100, 30) if j.kind == "registry"]
    await store.settle("w", [Settlement(j.id, "delivered", j.attempt, status=204) for j in jobs])
    return [(str(j.payload["subscriptionId"]), str(j.payload["state"])) for j in jobs if j.payload]


async def test_each_write_queues_its_notice(store: Store, clock: ManualClock) -> None:
    """Create tells `active`, update the last state told, delete `deleted`: each a delivery of kind
    "registry" to the registry, under the reserved subscription, its body `{subscriptionId, state,
    timestamp}`, its event stored with it."""
    store.enable_registry(REGISTRY)
    await store.create_subscription(subscription("s1", "a"), 10)
    [job] = await store.lease("w", 10, 30)
    assert (job.kind, job.subscription_id, job.endpoint) == ("registry", REGISTRY_SUBSCRIPTION, REGISTRY)
    assert job.payload is not None and set(job.payload) == {"subscriptionId", "state", "timestamp"}
    assert job.payload["timestamp"].endswith("Z") and job.event.type == REGISTRY_EVENT_TYPE
    assert await store.get_event(job.event.id) is not None
    await store.settle("w", [Settlement(job.id, "delivered", 1, status=204)])
    assert await store.registry_state_changed("s1", "failing")
    await store.update_subscription(replace(subscription("s1", "a"), description="changed"))
    await store.delete_subscription("s1")
    assert await notices(store) == [("s1", "failing"), ("s1", "failing"), ("s1", "deleted")]


async def test_a_state_is_told_once_and_only_for_live_subscriptions(store: Store) -> None:
    """The same state twice queues one notice; a change queues another; a deleted or unknown
    subscription queues none."""
    store.enable_registry(REGISTRY)
    await store.create_subscription(subscription("s1", "a"), 10)
    assert not await store.registry_state_changed("s1", "active")  # what create told
    assert await store.registry_state_changed("s1", "degraded")
    assert not await store.registry_state_changed("s1", "degraded")
    assert await store.registry_state_changed("s1", "active")
    assert not await store.registry_state_changed("nope", "failing")
    assert await notices(store) == [("s1", "active"), ("s1", "degraded"), ("s1", "active")]


async def test_a_refused_write_queues_nothing(store: Store) -> None:
    """A create that conflicts rolls its notice back with it."""
    store.enable_registry(REGISTRY)
    await store.create_subscription(subscription("s1", "a"), 10)
    with pytest.raises(ConflictError):
        await store.create_subscription(subscription("s2", "a"), 10)
    assert await notices(store) == [("s1", "active")]


async def test_without_a_registry_nothing_is_queued(store: Store) -> None:
    """A store never told of a registry writes no notice and reports no change."""
    await store.create_subscription(subscription("s1", "a"), 10)
    assert not await store.registry_state_changed("s1", "failing")
    await store.delete_subscription("s1")
    assert await store.lease("w", 10, 30) == []


@pytest.mark.needs(Feature.SHARED)
async def test_two_instances_tell_a_change_once(make_store: Callable[[], Store]) -> None:
    """Two processes on one store both seeing `failing`: one of them queues the notice."""
    first, second = make_store(), make_store()
    for s in (first, second):
        s.enable_registry(REGISTRY)
        await s.open()
    try:
        await first.create_subscription(subscription("s1", "a"), 10)
        told = [
            await first.registry_state_changed("s1", "failing"),
            await second.registry_state_changed("s1", "failing"),
        ]
        assert told == [True, False]
        assert await notices(second) == [("s1", "active"), ("s1", "failing")]
    finally:
        await first.close()
        await second.close()
