"""The store backends the contract suite runs against, and what each declares it supports.

A backend is a factory: `make(place, clock, max_pending)` returns an unopened `Store` (enforcing
`limits.max_pending` when it is not None); two calls with the same `place` reach the same data (two
processes on one database). `read(place, sql)` runs one query on that data directly and returns
its rows, for what no port can show (rows that mean the same as no row, which housekeeping should
remove); its SQL must be valid on every backend. `drop(place)`, when a backend has one, removes what
the test left behind (PostgreSQL: the test's own schema) once the test is done. A contract test
that needs more than the basic contract names the features it needs (`@pytest.mark.needs(Feature.X)`);
it runs against every backend declaring them and is not generated for the others (nothing is
skipped). Adding a backend is adding a row to `BACKENDS`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ccbridge.core.ports import Clock, Store
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.stores.postgres import PostgresStore
from ccbridge.stores.sqlite import SqliteStore

POSTGRES_URL = os.environ.get("CCBRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
"""The machine's PostgreSQL (trust auth); every test works in a schema of its own there."""


class Feature(StrEnum):
    SHARED = "shared"
    """Several store instances on the same `place` see each other's writes (several processes)."""

    DURABLE = "durable"
    """What a returned call committed survives closing the store and opening it again."""


@dataclass(frozen=True)
class Backend:
    name: str
    make: Callable[[Path, Clock, int | None], Store]
    features: frozenset[Feature]
    read: Callable[[Path, str], Awaitable[list[tuple[Any, ...]]]]
    drop: Callable[[Path], Awaitable[None]] | None = None


def _sqlite_path(place: Path) -> str:
    return str(place / "store.db")


def _sqlite(place: Path, clock: Clock, max_pending: int | None) -> Store:
    return SqliteStore(_sqlite_path(place), SubscriptionRouter(), clock=clock, max_pending=max_pending)


async def read_sqlite(place: Path, sql: str) -> list[tuple[Any, ...]]:
    def query() -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(_sqlite_path(place))
        try:
            return [tuple(row) for row in conn.execute(sql)]
        finally:
            conn.close()

    return await asyncio.to_thread(query)


def postgres_schema(place: Path) -> str:
    """The schema of the test whose temporary folder is `place`: fresh for each test, the same for
    every store the test makes."""
    return "ccb_" + hashlib.sha1(str(place).encode()).hexdigest()[:16]


def _postgres(place: Path, clock: Clock, max_pending: int | None) -> Store:
    return PostgresStore(
        POSTGRES_URL,
        SubscriptionRouter(),
        clock=clock,
        max_pending=max_pending,
        schema=postgres_schema(place),
    )


async def read_postgres(place: Path, sql: str) -> list[tuple[Any, ...]]:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": postgres_schema(place)})
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def drop_postgres_schema(place: Path) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {postgres_schema(place)} CASCADE")
    finally:
        await conn.close()


BACKENDS: tuple[Backend, ...] = (
    Backend("sqlite", _sqlite, frozenset({Feature.SHARED, Feature.DURABLE}), read_sqlite),
    Backend(
        "postgres",
        _postgres,
        frozenset({Feature.SHARED, Feature.DURABLE}),
        read_postgres,
        drop_postgres_schema,
    ),
)
