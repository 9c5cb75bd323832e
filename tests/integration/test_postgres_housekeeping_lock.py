"""On PostgreSQL every housekeeping step runs under the housekeeping advisory lock (one replica purges
at a time, per schema): while another session holds that lock, no purge deletes anything, and each
waits for it in `pg_locks`; once it is released they finish. And two stores on one schema purging
at once both finish, each row removed by one of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import asyncpg
import pytest

from ccbridge.core.event import DeadLetterSpec
from ccbridge.core.ports import IdempotentRecord, ReplaySpec, Settlement
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.core.times import IDEMPOTENCY_WINDOW
from ccbridge.stores.postgres import PostgresStore
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event, sample_subscription

URL = "postgresql://postgres@127.0.0.1:5432/test"
KEY = "hashtextextended('ccbridge:housekeeping:' || $1, 0)"
WAITERS = (
    f"WITH k AS (SELECT {KEY} AS v) SELECT count(*) FROM pg_locks, k WHERE locktype = 'advisory'"
    " AND NOT granted AND objsubid = 1 AND classid = ((v >> 32) & 4294967295)::oid"
    " AND objid = (v & 4294967295)::oid"
)
"""Sessions waiting for the housekeeping lock of schema `$1` (a bigint key is split in two oids)."""


@pytest.fixture
async def store(schema: str) -> AsyncIterator[tuple[PostgresStore, ManualClock]]:
    clock = ManualClock()
    pg = PostgresStore(URL, SubscriptionRouter(), clock=clock, schema=schema)
    await pg.open()
    try:
        yield pg, clock
    finally:
        await pg.close()


async def _dead_letters(store: PostgresStore, first: int, count: int) -> None:
    for n in range(first, first + count):
        await store.append_event(sample_event(n))
        [job] = await store.lease("w", 10, 30)
        await store.settle("w", [Settlement(job.id, "dead", 1, error="HTTP 400")])


async def _expired_rows(store: PostgresStore, clock: ManualClock) -> None:
    """One dead letter past its subscription's retention, one idempotency record past its window,
    one replay job finished long ago, one event past history retention that nothing refers to."""
    sub = replace(sample_subscription("s1", "a"), dead_letter=DeadLetterSpec(True, None, 2))
    await store.create_subscription(sub, 10)
    await _dead_letters(store, 1, 1)
    old = IdempotentRecord("replays", "k", "hash", 202, {}, clock.t - IDEMPOTENCY_WINDOW - 1)
    await store.create_replay("job", ReplaySpec(0, 1), old)
    assert await store.claim_replay("owner", 30) is not None
    await store.fail_replay("job", "owner", "boom")
    await store.append_event(sample_event(99, type_="nobody.listens"))
    clock.advance(3 * 86400)


async def _left(store: PostgresStore) -> dict[str, int | bool]:
    return {
        "dead letters": len(await store.list_dead_letters()),
        "idempotency": await store.get_idempotent("replays", "k", max_age=1e12) is not None,
        "replay job": await store.get_replay("job") is not None,
        "events": await store.count_events(),
    }


Purge = Callable[[PostgresStore, ManualClock], Awaitable[object]]


async def _expired(s: PostgresStore, _: ManualClock) -> object:
    return await s.purge_expired()


async def _replays(s: PostgresStore, c: ManualClock) -> object:
    return await s.purge_replays(c.t - 86400)


async def _history(s: PostgresStore, c: ManualClock) -> object:
    return await s.purge_history(c.t - 86400)


@pytest.mark.parametrize("purge", [_expired, _replays, _history], ids=["expired", "replays", "history"])
async def test_no_purge_deletes_while_another_session_holds_the_lock(
    store: tuple[PostgresStore, ManualClock], schema: str, purge: Purge
) -> None:
    pg, clock = store
    await _expired_rows(pg, clock)
    before = await _left(pg)
    holder = await asyncpg.connect(URL)
    try:
        await holder.execute(f"SELECT pg_advisory_lock({KEY})", schema)
        task = asyncio.create_task(purge(pg, clock))
        for _ in range(500):
            if await holder.fetchval(WAITERS, schema) or task.done():
                break
            await asyncio.sleep(0.01)
        assert not task.done(), "the purge ran without waiting for the housekeeping lock"
        assert await holder.fetchval(WAITERS, schema) == 1
        assert await _left(pg) == before  # nothing deleted before the lock was had
        await holder.execute(f"SELECT pg_advisory_unlock({KEY})", schema)
        await asyncio.wait_for(task, 30)
    finally:
        await holder.close()
    gone = {
        _expired: {"dead letters": 0, "idempotency": False},
        _replays: {"replay job": False},
        _history: {"events": 1},  # the unreferenced event; the dead letter keeps its own
    }[purge]
    assert await _left(pg) == before | gone


async def test_two_stores_on_one_schema_purging_at_once_both_finish_and_count_each_row_once(
    store: tuple[PostgresStore, ManualClock], schema: str
) -> None:
    pg, clock = store
    sub = replace(sample_subscription("s1", "a"), dead_letter=DeadLetterSpec(True, None, 2))
    await pg.create_subscription(sub, 10)
    await _dead_letters(pg, 1, 40)
    clock.advance(3 * 86400)
    other = PostgresStore(URL, SubscriptionRouter(), clock=clock, schema=schema)
    await other.open()
    try:
        counts = await asyncio.wait_for(
            asyncio.gather(pg.purge_expired(chunk=3), other.purge_expired(chunk=3)), 60
        )
    finally:
        await other.close()
    assert sum(counts) == 40
    assert await pg.list_dead_letters() == []
