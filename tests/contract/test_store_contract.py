"""The store contract every backend passes unchanged (see `store_backends.py` for the backends and their
features): idempotent appends, routing inside the append, subscriptions, the outbox's leases and
settlements, dead letters, retention. Written against the `Store` protocol only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import pytest
from store_backends import Feature

from ccbridge.core.event import DeadLetterSpec, EndpointSpec
from ccbridge.core.ports import Settlement, Store
from ccbridge.errors import ConflictError, NotFoundError, QuotaExceeded
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event as event
from ccbridge.testing.samples import sample_subscription as subscription


async def test_append_is_idempotent_by_key_within_24_hours(store: Store, clock: ManualClock) -> None:
    """A repeated key answers the original event; after 24 h the key starts a new event."""
    first = await store.append_event(event(1, key="k"))
    again = await store.append_event(event(2, key="k"))
    assert first.created and not again.created and again.event.id == "evt-1"
    clock.t += 24 * 3600 + 1
    later = await store.append_event(event(3, key="k"))
    assert later.created and later.event.id == "evt-3"
    assert await store.get_event("evt-2") is None


async def test_concurrent_appends_all_land(store: Store) -> None:
    """Hundreds of concurrent appends all commit, each once."""
    results = await asyncio.gather(*(store.append_event(event(n)) for n in range(500)))
    assert all(r.created for r in results)
    stored = await asyncio.gather(*(store.get_event(f"evt-{n}") for n in range(500)))
    assert all(e is not None and e.data == {"n": n} for n, e in enumerate(stored))


async def test_deliveries_are_written_with_the_event(store: Store) -> None:
    """Matching subscriptions' endpoints get one delivery row each, in the event's transaction."""
    await store.create_subscription(subscription("s1", "two", endpoints=2), 10)
    await store.create_subscription(subscription("s2", "voice", pattern={"data": {"channel": ["voice"]}}), 10)
    await store.create_subscription(subscription("s3", "other", type_="queue.event"), 10)
    chat = await store.append_event(event(1, data={"channel": "chat"}))
    voice = await store.append_event(event(2, data={"channel": "voice"}))
    assert (chat.deliveries, voice.deliveries) == (2, 3)


async def test_subscription_names_and_quota(store: Store) -> None:
    """A duplicate name is a conflict naming the existing id; the quota counts what exists."""
    await store.create_subscription(subscription("s1", "a"), 2)
    with pytest.raises(ConflictError) as conflict:
        await store.create_subscription(subscription("s2", "a"), 2)
    assert conflict.value.existing_id == "s1"
    await store.create_subscription(subscription("s2", "b"), 2)
    with pytest.raises(QuotaExceeded):
        await store.create_subscription(subscription("s3", "c"), 2)


async def test_lease_settle_retry_and_expiry(store: Store, clock: ManualClock) -> None:
    """A lease hides a delivery; a retry is due only at next_attempt_at; an expired lease is claimable."""
    await store.create_subscription(subscription("s1", "a"), 10)
    await store.append_event(event(1))
    [job] = await store.lease("w1", 10, 30)
    assert job.attempt == 1 and job.event.id == "evt-1"
    assert await store.lease("w2", 10, 30) == []
    await store.settle(
        "w1", [Settlement(job.id, "retry", 1, status=503, error="HTTP 503", next_attempt_at=clock.t + 5)]
    )
    assert await store.lease("w2", 10, 30) == []
    clock.t += 5
    [again] = await store.lease("w2", 10, 30)
    assert again.attempt == 2
    clock.t += 31  # w2 crashed: its lease expires
    [third] = await store.lease("w3", 10, 30)
    assert third.id == job.id
    await store.settle("w2", [Settlement(job.id, "delivered", 2)])  # a stale owner's settlement is ignored
    assert (await store.delivery_counts("s1")).delivered == 0
    await store.settle("w3", [Settlement(job.id, "delivered", 2, status=200)])
    counts = await store.delivery_counts("s1")
    assert (counts.delivered, counts.pending, counts.retrying) == (1, 0, 0)


async def test_saturated_endpoints_are_left_out_of_a_lease(store: Store) -> None:
    """Endpoints named in exclude_endpoints are skipped, so the others still get slots."""
    await store.create_subscription(subscription("s1", "a", endpoints=2), 10)
    await store.append_event(event(1))
    jobs = await store.lease("w1", 10, 30, exclude_endpoints=["http://127.0.0.1/a/0"])
    assert [j.endpoint.url for j in jobs] == ["http://127.0.0.1/a/1"]


async def test_dead_letters_replay_and_purge(store: Store, clock: ManualClock) -> None:
    """A dead delivery is listed with its reason, forwarded when asked, replayed once, and purgeable."""
    await store.create_subscription(subscription("s1", "a"), 10)
    await store.append_event(event(1))
    [job] = await store.lease("w1", 10, 30)
    await store.settle(
        "w1",
        [
            Settlement(
                job.id,
                "dead",
                1,
                status=400,
                error="HTTP 400",
                forward_to=EndpointSpec("http://127.0.0.1/dlq"),
            )
        ],
    )
    [letter] = await store.list_dead_letters("s1")
    assert (letter.reason, letter.last_status, letter.attempts) == ("HTTP 400", 400, 1)
    [forward] = await store.lease("w1", 10, 30)
    assert forward.kind == "deadletter" and forward.payload is not None
    assert forward.payload["reason"] == "HTTP 400"
    assert await store.replay_dead_letters(ids=[letter.id]) == 1
    assert await store.replay_dead_letters(ids=[letter.id]) == 0
    [replayed] = await store.lease("w1", 10, 30)
    assert replayed.id == letter.id and replayed.attempt == 1
    await store.settle("w1", [Settlement(replayed.id, "dead", 1, error="again")])
    assert await store.purge_dead_letters(clock.t - 1) == 0
    assert await store.purge_dead_letters(None) == 1


@pytest.mark.needs(Feature.DURABLE)
async def test_everything_survives_reopening(make_store: Callable[[], Store]) -> None:
    """What a returned call committed is there after the store is closed and opened again."""
    first = make_store()
    await first.open()
    await first.create_subscription(subscription("s1", "a"), 10)
    await first.append_event(event(1, key="k"))
    key = await first.secret("token-key")
    await first.close()
    second = make_store()
    await second.open()
    try:
        assert [s.id for s in await second.list_subscriptions()] == ["s1"]
        assert (await second.get_event("evt-1")) is not None
        assert await second.secret("token-key") == key
        assert not (await second.append_event(event(2, key="k"))).created
        assert len(await second.lease("w", 10, 30)) == 1
    finally:
        await second.close()


async def test_retention_days_purge_old_dead_letters(store: Store, clock: ManualClock) -> None:
    """purge_expired drops a subscription's dead letters older than its retentionDays, not newer ones."""
    sub = replace(subscription("s1", "a"), dead_letter=DeadLetterSpec(True, None, 2))
    await store.create_subscription(sub, 10)
    for n in (1, 2):
        await store.append_event(event(n))
        [job] = await store.lease("w", 10, 30)
        await store.settle("w", [Settlement(job.id, "dead", 1, error="HTTP 400")])
        clock.t += 3 * 86400 if n == 1 else 0
    assert await store.purge_expired() == 1
    assert [d.event_id for d in await store.list_dead_letters()] == ["evt-2"]


@pytest.mark.needs(Feature.SHARED)
async def test_two_processes_on_one_store_route_with_each_others_subscriptions(
    make_store: Callable[[], Store],
) -> None:
    """Two stores on one database (two server processes, as in the overlap of a rolling restart): an
    event stored by one is routed with the subscriptions the other created, changed or deleted, and
    reads in one show the other's writes."""
    first, second = make_store(), make_store()
    await first.open()
    await second.open()
    try:
        await second.append_event(event(0))  # the second store's cache is warm and now stale
        await first.create_subscription(subscription("s1", "a"), 10)
        assert (await second.append_event(event(1))).deliveries == 1
        assert [s.id for s in await second.list_subscriptions()] == ["s1"]
        assert (await second.get_subscription("s1")) is not None
        await first.delete_subscription("s1")
        assert (await second.get_subscription("s1")) is None
        assert (await second.append_event(event(2))).deliveries == 0
        await second.create_subscription(subscription("s2", "b"), 10)
        assert (await first.append_event(event(3))).deliveries == 1
        assert [s.id for s in await first.list_subscriptions()] == ["s2"]
    finally:
        await first.close()
        await second.close()


async def test_renew_extends_only_the_owners_live_leases_it_names(store: Store, clock: ManualClock) -> None:
    """renew moves forward the expiry of the owner's leases among the ids given; a settled delivery,
    an unnamed lease of the same owner and another owner's lease keep their terms."""
    await store.create_subscription(subscription("s1", "a", endpoints=4), 10)
    await store.append_event(event(1))
    settled, working, forgotten = await store.lease("w1", 3, 30)
    [theirs] = await store.lease("w2", 10, 30)
    await store.settle("w1", [Settlement(settled.id, "delivered", 1, status=200)])
    clock.t += 20
    assert await store.renew("w1", [settled.id, working.id, theirs.id], 30) == 1
    clock.t += 15  # past the first term of every lease, within the renewed one
    assert sorted(job.id for job in await store.lease("w3", 10, 30)) == sorted([forgotten.id, theirs.id])


async def test_history_older_than_the_cutoff_is_forgotten_unless_still_needed(
    store: Store, clock: ManualClock
) -> None:
    """purge_history drops old delivered deliveries and the old events nothing refers to any more;
    a dead letter, a pending retry and anything newer keep their rows and their events."""
    await store.create_subscription(subscription("s1", "a", endpoints=2), 10)
    outcomes = {1: ("delivered", "dead"), 2: ("delivered", "retry"), 3: ("delivered", "delivered")}
    for n, (first, second) in outcomes.items():
        await store.append_event(event(n))
        jobs = await store.lease("w", 10, 30)
        await store.settle(
            "w",
            [
                Settlement(job.id, state, 1, status=200, next_attempt_at=clock.t + 86400 * 60)  # type: ignore[arg-type]
                for job, state in zip(jobs, (first, second), strict=True)
            ],
        )
    await store.append_event(event(4, type_="nobody.listens"))
    clock.t += 31 * 86400
    await store.append_event(event(5))  # new: kept, and its deliveries too
    deliveries, events = await store.purge_history(clock.t - 30 * 86400)
    assert (deliveries, events) == (4, 2)
    assert [await store.get_event(f"evt-{n}") is not None for n in range(1, 6)] == [
        True,
        True,
        False,
        False,
        True,
    ]
    assert [d.event_id for d in await store.list_dead_letters()] == ["evt-1"]
    counts = await store.delivery_counts("s1")
    assert (counts.delivered, counts.pending, counts.retrying) == (0, 2, 1)  # evt-5's two, the old retry
    assert await store.purge_history(clock.t - 30 * 86400) == (0, 0)


async def test_updating_or_deleting_a_missing_subscription_says_so(store: Store) -> None:
    """An update of an id that does not exist raises NotFoundError; a delete answers False."""
    with pytest.raises(NotFoundError):
        await store.update_subscription(subscription("nope", "a"))
    assert await store.delete_subscription("nope") is False


async def test_deleting_a_subscription_cancels_its_pending_deliveries(store: Store) -> None:
    """Nothing is leased for a deleted subscription, and its other subscriptions' deliveries stay."""
    await store.create_subscription(subscription("s1", "a"), 10)
    await store.create_subscription(subscription("s2", "b"), 10)
    await store.append_event(event(1))
    assert await store.delete_subscription("s1") is True
    assert [job.subscription_id for job in await store.lease("w", 10, 30)] == ["s2"]


async def test_released_leases_are_claimable_at_once(store: Store, clock: ManualClock) -> None:
    """release gives a lease back before it expires; another owner's release changes nothing."""
    await store.create_subscription(subscription("s1", "a", endpoints=2), 10)
    await store.append_event(event(1))
    first, second = await store.lease("w1", 10, 30)
    await store.release("w2", [first.id, second.id])
    assert await store.lease("w3", 10, 30) == []
    await store.release("w1", [first.id])
    assert [job.id for job in await store.lease("w3", 10, 30)] == [first.id]


async def test_next_due_is_the_earliest_unleased_pending_delivery(store: Store, clock: ManualClock) -> None:
    """None when nothing waits; a retry's next_attempt_at once the lease is settled."""
    assert await store.next_due() is None
    await store.create_subscription(subscription("s1", "a"), 10)
    await store.append_event(event(1))
    assert await store.next_due() == clock.t
    [job] = await store.lease("w", 10, 30)
    assert await store.next_due() is None
    await store.settle("w", [Settlement(job.id, "retry", 1, error="HTTP 503", next_attempt_at=clock.t + 7)])
    assert await store.next_due() == clock.t + 7


async def test_next_due_leaves_out_saturated_endpoints(store: Store, clock: ManualClock) -> None:
    """With an endpoint excluded (as the lease excludes it), its due deliveries do not count: the
    next due is the other endpoint's retry, or None when only the excluded one has work."""
    await store.create_subscription(subscription("s1", "a", endpoints=2), 10)
    await store.append_event(event(1))
    saturated = "http://127.0.0.1/a/0"
    [other] = await store.lease("w", 10, 30, exclude_endpoints=[saturated])
    assert await store.next_due([saturated]) is None
    assert await store.next_due() == clock.t
    await store.settle("w", [Settlement(other.id, "retry", 1, error="HTTP 503", next_attempt_at=clock.t + 9)])
    assert await store.next_due([saturated]) == clock.t + 9
    assert await store.next_due([saturated, "http://127.0.0.1/a/1"]) is None


async def test_idempotency_records_commit_with_the_subscription_and_expire(
    store: Store, clock: ManualClock
) -> None:
    """The record written with a create is found inside its window and not after it."""
    from ccbridge.core.ports import IdempotentRecord

    record = IdempotentRecord("client:POST", "k1", "hash", 201, {"id": "s1"}, clock.t)
    await store.create_subscription(subscription("s1", "a"), 10, record)
    found = await store.get_idempotent("client:POST", "k1")
    assert found is not None and (found.status, found.response) == (201, {"id": "s1"})
    assert await store.get_idempotent("other:POST", "k1") is None
    clock.advance(24 * 3600 + 1)
    assert await store.get_idempotent("client:POST", "k1") is None


async def test_listeners_hear_of_commits_that_make_deliveries_due(store: Store) -> None:
    """add_listener's callback runs after an append with deliveries, and not after one without."""
    heard: list[str] = []
    store.add_listener(lambda: heard.append("due"))
    await store.append_event(event(1))
    assert heard == []
    await store.create_subscription(subscription("s1", "a"), 10)
    await store.append_event(event(2))
    assert heard == ["due"]
