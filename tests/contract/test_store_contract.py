"""The Store contract every backend must pass (SQLite today; PostgreSQL and JetStream will join the
`store` fixture's parameters): idempotent appends, the outbox, leases, settlements, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.ports import Settlement
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.errors import ConflictError, InputError
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing.clock import ManualClock


class Clock(ManualClock):
    pass


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_store(tmp_path: Path, clock: Clock) -> Callable[[], SqliteStore]:
    return lambda: SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=clock)


@pytest.fixture
async def store(make_store: Callable[[], SqliteStore]) -> AsyncIterator[SqliteStore]:
    s = make_store()
    await s.open()
    yield s
    await s.close()


def event(n: int, key: str | None = None, type_: str = "contact.created", data: object = None) -> Event:
    return Event(
        id=f"evt-{n}",
        type=type_,
        source="test",
        time="2026-11-24T10:00:00Z",
        data=data if data is not None else {"n": n},
        dialect="cxone",
        correlation_id=f"c-{n}",
        received_at="2026-11-24T10:00:00Z",
        idempotency_key=key,
    )


def subscription(
    sub_id: str,
    name: str,
    endpoints: int = 1,
    pattern: dict[str, object] | None = None,
    type_: str = "contact.created",
) -> Subscription:
    return Subscription(
        id=sub_id,
        name=name,
        dialect="cxone",
        event_types=(type_,),
        endpoints=tuple(EndpointSpec(f"http://127.0.0.1/{name}/{i}") for i in range(endpoints)),
        secret="whsec_x",
        created_at="t",
        updated_at="t",
        pattern=pattern,
    )


async def test_append_is_idempotent_by_key_within_24_hours(store: SqliteStore, clock: Clock) -> None:
    """A repeated key answers the original event; after 24 h the key starts a new event."""
    first = await store.append_event(event(1, key="k"))
    again = await store.append_event(event(2, key="k"))
    assert first.created and not again.created and again.event.id == "evt-1"
    clock.t += 24 * 3600 + 1
    later = await store.append_event(event(3, key="k"))
    assert later.created and later.event.id == "evt-3"
    assert await store.count_events() == 2


async def test_concurrent_appends_share_commits_and_all_land(store: SqliteStore) -> None:
    """Hundreds of concurrent appends are group-committed (fewer batches than jobs) and all stored."""
    results = await asyncio.gather(*(store.append_event(event(n)) for n in range(500)))
    assert all(r.created for r in results)
    assert await store.count_events() == 500
    assert store.stats["write_batches"] < store.stats["write_jobs"]


async def test_deliveries_are_written_with_the_event(store: SqliteStore) -> None:
    """Matching subscriptions' endpoints get one delivery row each, in the event's transaction."""
    await store.create_subscription(subscription("s1", "two", endpoints=2), 10)
    await store.create_subscription(subscription("s2", "voice", pattern={"data": {"channel": ["voice"]}}), 10)
    await store.create_subscription(subscription("s3", "other", type_="queue.event"), 10)
    chat = await store.append_event(event(1, data={"channel": "chat"}))
    voice = await store.append_event(event(2, data={"channel": "voice"}))
    assert (chat.deliveries, voice.deliveries) == (2, 3)


async def test_subscription_names_and_quota(store: SqliteStore) -> None:
    """A duplicate name is a conflict naming the existing id; the quota counts what exists."""
    await store.create_subscription(subscription("s1", "a"), 2)
    with pytest.raises(ConflictError) as conflict:
        await store.create_subscription(subscription("s2", "a"), 2)
    assert conflict.value.existing_id == "s1"
    await store.create_subscription(subscription("s2", "b"), 2)
    with pytest.raises(InputError):
        await store.create_subscription(subscription("s3", "c"), 2)


async def test_lease_settle_retry_and_expiry(store: SqliteStore, clock: Clock) -> None:
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


async def test_saturated_endpoints_are_left_out_of_a_lease(store: SqliteStore) -> None:
    """Endpoints named in exclude_endpoints are skipped, so the others still get slots."""
    await store.create_subscription(subscription("s1", "a", endpoints=2), 10)
    await store.append_event(event(1))
    jobs = await store.lease("w1", 10, 30, exclude_endpoints=["http://127.0.0.1/a/0"])
    assert [j.endpoint.url for j in jobs] == ["http://127.0.0.1/a/1"]


async def test_dead_letters_replay_and_purge(store: SqliteStore, clock: Clock) -> None:
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


async def test_everything_survives_reopening(make_store: Callable[[], SqliteStore]) -> None:
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


async def test_retention_days_purge_old_dead_letters(store: SqliteStore, clock: Clock) -> None:
    """purge_expired drops a subscription's dead letters older than its retentionDays, not newer ones."""
    from dataclasses import replace

    from ccbridge.core.event import DeadLetterSpec

    sub = replace(subscription("s1", "a"), dead_letter=DeadLetterSpec(True, None, 2))
    await store.create_subscription(sub, 10)
    for n in (1, 2):
        await store.append_event(event(n))
        [job] = await store.lease("w", 10, 30)
        await store.settle("w", [Settlement(job.id, "dead", 1, error="HTTP 400")])
        clock.t += 3 * 86400 if n == 1 else 0
    assert await store.purge_expired() == 1
    assert [d.event_id for d in await store.list_dead_letters()] == ["evt-2"]


async def test_two_processes_on_one_file_route_with_each_others_subscriptions(
    make_store: Callable[[], SqliteStore],
) -> None:
    """Two stores on one file (two server processes, as in the overlap of a rolling restart): an
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


async def test_renew_extends_only_the_owners_live_leases_it_names(store: SqliteStore, clock: Clock) -> None:
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


@pytest.mark.parametrize("chunk", [1, 5000])
async def test_history_older_than_the_cutoff_is_forgotten_unless_still_needed(
    store: SqliteStore, clock: Clock, chunk: int
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
    deliveries, events = await store.purge_history(clock.t - 30 * 86400, chunk=chunk)
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
    assert await store.purge_history(clock.t - 30 * 86400, chunk=chunk) == (0, 0)
