"""`DeadLetterRemoval` on SQLite: delete chosen dead letters on the store's one writer."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ccbridge.stores.sqlite.writer import SerialExecutor

CHUNK = 500
"""Ids bound per statement, well under SQLite's limit of bound parameters."""


class SqliteDeadLetterRemoval:
    """Mixed into `SqliteStore`, whose `_writer` runs every write in its transaction."""

    _writer: SerialExecutor

    async def discard_dead_letters(self, ids: Sequence[int]) -> int:
        wanted = sorted(set(ids))

        def job(conn: sqlite3.Connection) -> int:
            removed = 0
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                removed += conn.execute(
                    f"DELETE FROM deliveries WHERE state = 'dead' AND id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).rowcount
            return removed

        return int(await self._writer.submit(job)) if wanted else 0
