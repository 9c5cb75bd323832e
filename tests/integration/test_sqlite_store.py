"""What only the SQLite store promises beyond the contract (tests/contract/): group commit and chunked purges."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccbridge.core.ports import Settlement
from ccbridge.core.routing import SubscriptionRouter
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


async def test_a_file_from_before_queue_delivery_has_its_queue_deliveries_leased(tmp_path: Path) -> None:
    """A file made while queue deliveries waited keeps them pending under an index that left them out;
    opening it drops that index and leases them with the others."""
    import sqlite3
    from dataclasses import replace

    from ccbridge.core.event import EndpointSpec

    path = str(tmp_path / "old.db")
    queued = replace(SUB, endpoints=(EndpointSpec("nats://127.0.0.1:4222/orders", "queue"),))
    first = SqliteStore(path, SubscriptionRouter(), clock=ManualClock())
    await first.open()
    await first.create_subscription(queued, 10)
    await first.append_event(event(1))
    await first.close()
    with sqlite3.connect(path) as conn:  # the index as the previous release made it
        conn.execute("DROP INDEX deliveries_unleased")
        conn.execute(
            "CREATE INDEX deliveries_ready ON deliveries(next_attempt_at)"
            " WHERE state = 'pending' AND lease_until IS NULL AND endpoint_type != 'queue'"
        )
    again = SqliteStore(path, SubscriptionRouter(), clock=ManualClock())
    await again.open()
    try:
        [job] = await again.lease("w", 10, 30)
        assert job.endpoint.type == "queue"
    finally:
        await again.close()
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "deliveries_ready" not in names and "deliveries_unleased" in names
