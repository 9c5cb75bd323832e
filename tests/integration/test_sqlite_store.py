"""What only the SQLite store promises beyond the contract (tests/contract/): group commit and chunked purges."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccbridge.core.ports import Settlement
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.errors import Overloaded
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event as event
from ccbridge.testing.samples import sample_subscription as subscription

SUB = subscription("s1", "a")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=ManualClock())
    await s.open()
    yield s
    await s.close()


async def test_concurrent_appends_share_commits(store: SqliteStore) -> None:
    """Hundreds of concurrent appends are group-committed: fewer write batches than jobs."""
    await asyncio.gather(*(store.append_event(event(n)) for n in range(500)))
    assert await store.count_events() == 500
    assert store.stats["write_batches"] < store.stats["write_jobs"]


async def test_history_purge_in_chunks_of_one_removes_as_much_as_one_chunk(tmp_path: Path) -> None:
    """The purge loops over chunks until a chunk comes back short: chunk=1 removes what chunk=5000 does."""
    removed = []
    for chunk in (1, 5000):
        clock = ManualClock()
        store = SqliteStore(str(tmp_path / f"{chunk}.db"), SubscriptionRouter(), clock=clock)
        await store.open()
        try:
            await store.create_subscription(SUB, 10)
            for n in range(3):
                await store.append_event(event(n))
            jobs = await store.lease("w", 10, 30)
            await store.settle("w", [Settlement(job.id, "delivered", 1, status=200) for job in jobs])
            clock.advance(86400)
            removed.append(await store.purge_history(clock.now() - 1, chunk=chunk))
            assert await store.count_events() == 0
        finally:
            await store.close()
    assert removed == [(3, 3), (3, 3)]


async def test_queue_deliveries_wait_by_design_and_do_not_count(tmp_path: Path) -> None:
    """Queue endpoints are accepted but not delivered by this SQLite store yet: their deliveries never
    drain, so counting them would end, sooner or later, in ingestion refused for good. (Not a contract
    test: PostgreSQL treats every endpoint type alike, as SQLite will once queue delivery lands.)"""
    from dataclasses import replace

    from ccbridge.core.event import EndpointSpec

    store = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=ManualClock(), max_pending=1)
    await store.open()
    try:
        queued = replace(
            subscription("q", "queue"), endpoints=(EndpointSpec("nats://127.0.0.1:4222/orders", "queue"),)
        )
        await store.create_subscription(queued, 10)
        for n in range(5):
            assert (await store.append_event(event(n))).deliveries == 1
        await store.create_subscription(subscription("s1", "a"), 10)
        await store.append_event(event(10))  # one webhook delivery: at the limit, admitted
        with pytest.raises(Overloaded):
            await store.append_event(event(11))
        assert await store.delete_subscription("q")
        with pytest.raises(Overloaded):  # deleting the queue subscription frees nothing it did not hold
            await store.append_event(event(12))
    finally:
        await store.close()
