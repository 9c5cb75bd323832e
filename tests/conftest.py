"""Fixtures every test directory shares: `schema`, a PostgreSQL schema of the test's own.

`POSTGRES_URL` is the machine's PostgreSQL (`CCBRIDGE_TEST_POSTGRES` overrides it). A test asking
for `schema` gets a fresh name (created by whatever opens a store on it) and the schema is dropped
after the test, whatever it left there; list it before fixtures that start servers on it, so those
stop first."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

POSTGRES_URL = os.environ.get("CCBRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    name = f"ccb_{uuid.uuid4().hex[:16]}"
    yield name
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await conn.close()
