"""Applying `schema.MIGRATIONS`: once each, in order, by whichever replica gets the lock first.

The whole run is one transaction holding a transaction-level advisory lock named after the schema,
so two replicas starting at once queue up: the second finds every step recorded and does nothing.
DDL is transactional in PostgreSQL, so a step that fails leaves nothing half-applied.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ccbridge.stores.postgres.schema import MIGRATIONS

SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def check_schema_name(schema: str) -> str:
    """`schema` when it is a plain lower-case identifier (it is spliced into DDL), else ValueError."""
    if not SCHEMA_NAME.fullmatch(schema):
        raise ValueError(f"schema {schema!r} is not a plain lower-case identifier")
    return schema


async def apply_migrations(conn: Any, schema: str | None = None) -> list[int]:
    """Bring the schema (`schema`, created when missing, else the connection's current one) up to
    date; returns the versions this call applied (empty when another replica already had)."""
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('ccbridge:migrate:' || coalesce($1, current_schema()), 0))",
            schema,
        )
        if schema is not None:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {check_schema_name(schema)}")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS ccb_migrations"
            " (version integer PRIMARY KEY, applied_ts double precision NOT NULL)"
        )
        done = {row[0] for row in await conn.fetch("SELECT version FROM ccb_migrations")}
        for version, sql in MIGRATIONS:
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute(
                "INSERT INTO ccb_migrations(version, applied_ts) VALUES ($1, $2)", version, time.time()
            )
            applied.append(version)
    return applied
