"""The rate-row purge in pages (`purge_expired(chunk=...)`, both stores beyond the contract): whatever
the page size, including pages of one and a page exactly as long as the table, it removes every
stale row and keeps every live one, with stale and live keys interleaved in key order."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from ccbridge.core.routing import SubscriptionRouter
from ccbridge.stores.postgres import PostgresStore
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing.clock import ManualClock

URL = os.environ.get("CCBRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
Reader = Callable[[str], Awaitable[list[str]]]


@pytest.fixture(params=["sqlite", "postgres"])
async def opened(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SqliteStore | PostgresStore, ManualClock, Reader]]:
    """A store on a manual clock, and a reader of one rate table's keys in key order."""
    clock = ManualClock()
    if request.param == "sqlite":
        path = str(tmp_path / "store.db")

        async def read_sqlite(table: str) -> list[str]:
            def query() -> list[str]:
                with sqlite3.connect(path) as conn:
                    return [r[0] for r in conn.execute(f"SELECT key FROM {table} ORDER BY key")]

            return await asyncio.to_thread(query)

        lite = SqliteStore(path, SubscriptionRouter(), clock=clock)
        await lite.open()
        try:
            yield lite, clock, read_sqlite
        finally:
            await lite.close()
        return
    schema = f"ccb_{uuid.uuid4().hex[:16]}"

    async def read_postgres(table: str) -> list[str]:
        conn = await asyncpg.connect(URL, server_settings={"search_path": schema})
        try:
            return [r[0] for r in await conn.fetch(f"SELECT key FROM {table} ORDER BY key")]
        finally:
            await conn.close()

    pg = PostgresStore(URL, SubscriptionRouter(), clock=clock, schema=schema)
    await pg.open()
    try:
        yield pg, clock, read_postgres
    finally:
        await pg.close()
        conn = await asyncpg.connect(URL)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


async def test_every_page_size_removes_the_stale_rows_and_only_them(
    opened: tuple[SqliteStore | PostgresStore, ManualClock, Reader],
) -> None:
    store, clock, keys = opened
    names = [f"k{n:02d}" for n in range(10)]
    stale, live = names[::2], names[1::2]
    for chunk in (1, 2, 3, 5, 10, 5000):
        for name in stale:
            await store.take_rate_token(name, 1, 1)
            await store.take_rate_slot(name, 1)
        clock.advance(3600)
        for name in live:
            await store.take_rate_token(name, 1, 1)
            await store.take_rate_slot(name, 1)
        await store.purge_expired(chunk=chunk)
        assert await keys("rate_tokens") == live, chunk
        assert await keys("rate_slots") == live, chunk
        clock.advance(3600)  # the next round starts with every row stale
