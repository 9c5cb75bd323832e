"""The `RateLimits` port on SQLite: one `rate_tokens` row per key, read and written by a job of the one
writer, inside its transaction (which holds the file's write lock), so the read-decide-write is
atomic across every process sharing the file. The decision is `core.rate_limit.take_token`'s; a
refusal writes nothing."""

from __future__ import annotations

import sqlite3

from ccbridge.core.rate_limit import take_token
from ccbridge.stores.sqlite.mixin import SqliteMixin


class SqliteRateLimits(SqliteMixin):
    """Mixed into `SqliteStore`, whose writer and clock it uses."""

    async def take_rate_token(self, key: str, per_second: float, burst: int) -> float:
        now = self._now()

        def job(conn: sqlite3.Connection) -> float:
            row = conn.execute("SELECT tat FROM rate_tokens WHERE key = ?", (key,)).fetchone()
            tat, wait = take_token(None if row is None else float(row[0]), now, per_second, burst)
            if tat is not None:
                conn.execute(
                    "INSERT INTO rate_tokens(key, tat) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET tat = excluded.tat",
                    (key, tat),
                )
            return wait

        return await self._writer.submit(job)
