"""What only the PostgreSQL store promises beyond the contract (tests/contract/): migrations applied
once under a lock, `ccbridge migrate`, the store chosen by `store.url`, and a real server on it.
Each test works in a schema of its own on the machine's PostgreSQL, dropped afterwards."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from ccbridge.core.routing import SubscriptionRouter
from ccbridge.errors import Unavailable
from ccbridge.stores.postgres import PostgresStore
from ccbridge.stores.postgres.migrations import apply_migrations
from ccbridge.stores.postgres.schema import MIGRATIONS
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event as event
from ccbridge.testing.samples import sample_subscription as subscription
from ccbridge.testing.server import running_server, wait_until, write_config

URL = os.environ.get("CCBRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def _versions(schema: str) -> list[int]:
    conn = await asyncpg.connect(URL)
    try:
        return [r[0] for r in await conn.fetch(f"SELECT version FROM {schema}.ccb_migrations ORDER BY 1")]
    finally:
        await conn.close()


async def test_replicas_opening_at_once_apply_each_migration_once(schema: str) -> None:
    """Four stores opening concurrently on a fresh schema all open; every step is applied by exactly
    one of them and recorded once."""
    stores = [PostgresStore(URL, SubscriptionRouter(), schema=schema) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        assert await _versions(schema) == [v for v, _ in MIGRATIONS]
        assert await stores[0].list_subscriptions() == []
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_migrations_run_once_each(schema: str) -> None:
    """Applying again, concurrently, applies nothing: the first run did every step."""
    conns = [await asyncpg.connect(URL, server_settings={"search_path": schema}) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(apply_migrations(c, schema) for c in conns))
        assert sorted(applied, key=len) == [[], [], [v for v, _ in MIGRATIONS]]
        assert await apply_migrations(conns[0], schema) == []
    finally:
        for c in conns:
            await c.close()


def test_migrate_command_applies_the_schema_without_serving(tmp_path: Path, schema: str) -> None:
    """`ccbridge migrate --config FILE` brings the schema up to date and exits 0."""
    path = write_config(tmp_path, {"store": {"url": URL, "postgres_schema": schema}}, 1)
    done = subprocess.run(
        [sys.executable, "-m", "ccbridge", "migrate", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout
    assert asyncio.run(_versions(schema)) == [v for v, _ in MIGRATIONS]


def test_migrate_command_on_sqlite_creates_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, None, 1)
    done = subprocess.run(
        [sys.executable, "-m", "ccbridge", "migrate", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ccbridge.db").exists()


def test_a_store_url_of_an_unknown_scheme_is_refused(tmp_path: Path) -> None:
    """check-config names the key and exits 2 for a URL neither backend takes."""
    path = write_config(tmp_path, {"store": {"url": "mysql://db/x"}}, 1)
    done = subprocess.run(
        [sys.executable, "-m", "ccbridge", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "store.url" in done.stdout + done.stderr


async def test_a_server_on_postgres_delivers_a_published_event(schema: str) -> None:
    """create subscription -> publish -> the webhook receives it, with the server on PostgreSQL."""
    async with (
        WebhookReceiver() as receiver,
        running_server({"store": {"url": URL, "postgres_schema": schema}}) as srv,
    ):
        assert srv.runtime is not None and isinstance(srv.runtime.store, PostgresStore)
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            created = await api.post(
                "/api/v2/eventbridge/subscriptions",
                json={
                    "name": "orders",
                    "eventType": "OrderCreated",
                    "endpoints": [{"url": receiver.url, "type": "webhook"}],
                },
            )
            assert created.status_code == 201, created.text
            receiver.secrets = [created.json()["secret"]]
            ack = await api.post(
                "/api/v2/eventbridge/events",
                json={
                    "eventType": "OrderCreated",
                    "attributes": {"orderId": "o-1"},
                    "timestamp": "2026-11-24T10:00:00Z",
                },
            )
            assert ack.status_code in (200, 201, 202), ack.text
            [request] = await receiver.wait_for(1)
            assert request.json()["id"] == ack.json()["id"]
            assert request.standard_valid is True


@pytest.fixture
async def store(schema: str) -> AsyncIterator[PostgresStore]:
    s = PostgresStore(URL, SubscriptionRouter(), clock=ManualClock(), schema=schema)
    await s.open()
    yield s
    await s.close()


async def test_concurrent_appends_share_commits(store: PostgresStore) -> None:
    """Hundreds of concurrent appends are group-committed: fewer transactions than events, each stored once."""
    await store.create_subscription(subscription("s1", "a", endpoints=2), 10)
    results = await asyncio.gather(*(store.append_event(event(n)) for n in range(500)))
    assert all(r.created and r.deliveries == 2 for r in results)
    assert await store.count_events() == 500
    assert store.stats["write_batches"] < store.stats["write_jobs"] == 500


async def test_one_key_twice_in_one_batch_is_one_event(store: PostgresStore) -> None:
    """Repeats of a key submitted together (one batch) answer the first event; the others still land."""
    results = await asyncio.gather(
        store.append_event(event(1, key="k")),
        store.append_event(event(2, key="k")),
        store.append_event(event(3)),
    )
    assert [(r.event.id, r.created) for r in results] == [("evt-1", True), ("evt-1", False), ("evt-3", True)]
    assert await store.get_event("evt-2") is None


async def test_a_refused_event_fails_alone_in_its_batch(schema: str) -> None:
    """Under max_pending, the events of one batch that fit are stored and the rest refused."""
    limited = PostgresStore(URL, SubscriptionRouter(), clock=ManualClock(), max_pending=3, schema=schema)
    await limited.open()
    try:
        await limited.create_subscription(subscription("s1", "a"), 10)
        outcomes = await asyncio.gather(
            *(limited.append_event(event(n)) for n in range(5)), return_exceptions=True
        )
        assert [type(o).__name__ for o in outcomes].count("AppendResult") == 3
        assert [type(o).__name__ for o in outcomes].count("Overloaded") == 2
        assert (await limited.backlog()).pending == 3
    finally:
        await limited.close()


async def test_a_replica_hears_of_subscription_changes_without_asking(schema: str) -> None:
    """LISTEN/NOTIFY: a subscription created by one instance reaches the other's cache (what its
    dispatcher sends with) with no call on that other instance; and its dispatcher is woken by the
    first instance's appends."""
    first = PostgresStore(URL, SubscriptionRouter(), schema=schema)
    second = PostgresStore(URL, SubscriptionRouter(), schema=schema)
    await first.open()
    await second.open()
    woken: list[str] = []
    second.add_listener(lambda: woken.append("due"))
    try:
        await first.create_subscription(subscription("s1", "a"), 10)

        async def cached() -> bool:
            return second.cached_subscription("s1") is not None

        assert await wait_until(cached)
        await first.append_event(event(1))

        async def heard() -> bool:
            return bool(woken)

        assert await wait_until(heard)
    finally:
        await first.close()
        await second.close()


async def test_idle_sessions_ended_by_the_server_are_replaced(store: PostgresStore) -> None:
    """The server ends the store's idle sessions (a restart, an idle timeout): the pool reconnects and
    writes commit again. A write that meets a dead session before the pool has noticed it answers
    Unavailable (a 503 the client retries), never half-done: once per dead session at most, and a
    retry commits."""
    assert await _terminate(store, idle_only=True) >= 2  # the pool's connection and the listener
    refused = 0
    while True:
        try:
            result = await store.append_event(event(1))
            break
        except Unavailable:
            refused += 1
            assert refused <= 10, "the pool kept handing out dead sessions"  # its max size
    assert result.created and await store.get_event("evt-1") is not None


async def test_a_session_lost_mid_transaction_is_unavailable_and_recovery_is_seen(schema: str) -> None:
    """The server ends the session of an append in flight (a failover): the caller gets Unavailable with
    a retry_after, not a 5xx-worthy crash; readiness then sees writes commit again."""
    store = PostgresStore(URL, SubscriptionRouter(), clock=ManualClock(), max_pending=10, schema=schema)
    await store.open()
    admin = await asyncpg.connect(URL)
    try:
        await store.create_subscription(subscription("s1", "a"), 10)
        lock = f"ccbridge:pending:{schema}"  # what an append with deliveries takes under max_pending
        await admin.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", lock)
        append = asyncio.create_task(store.append_event(event(1)))

        async def waiting() -> bool:
            return bool(
                await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
                    f"ccbridge {schema}",
                )
            )

        assert await wait_until(waiting)
        assert await _terminate(store, idle_only=False) >= 1
        with pytest.raises(Unavailable) as lost:
            await append
        assert (lost.value.retry_after or 0) > 0
        await admin.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", lock)
        assert await store.write_problem() is None  # the probe committed on a fresh session
        assert (await store.append_event(event(2))).created
    finally:
        await admin.close()
        await store.close()


async def _terminate(store: PostgresStore, idle_only: bool) -> int:
    """End the store's sessions from another one (found by their application_name); how many."""
    admin = await asyncpg.connect(URL)
    try:
        return int(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1"
                " AND (NOT $2 OR state = 'idle')",
                f"ccbridge {store.schema}",
                idle_only,
            )
        )
    finally:
        await admin.close()
