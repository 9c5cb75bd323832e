"""`ReadHealth` for PostgreSQL: `SELECT 1` on a pooled connection, bounded in time."""

from __future__ import annotations

import asyncio
from typing import Any

from ccbridge.core.redact import mask_text


class PostgresReadProbe:
    """Mixin of `PostgresStore`: `read_problem` runs `SELECT 1` through the pool, so an unreachable
    database (or a pool that cannot connect) shows within `within` seconds."""

    _pool: Any

    async def read_problem(self, within: float = 2.0) -> str | None:
        if self._pool is None:
            return "the store is not open"
        try:
            async with asyncio.timeout(within):
                async with self._pool.acquire() as conn:
                    await conn.fetchval("SELECT 1")
        except TimeoutError:
            return f"the store did not answer within {within:g} s"
        except Exception as exc:  # unreachable, refused, reset: not ready, with the reason
            return mask_text(f"the store does not answer: {type(exc).__name__}: {exc}")
        return None
