"""The `ConnectorLeases` port on SQLite: rows of `connector_leases`, written by the store's writer.

Each call is one job of the single writer thread (one transaction, under the file's write lock), so
an acquire's read and write cannot interleave with another process's: two processes on one file
never both hold a lease.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import orjson

from ccbridge.core.ports import ConnectorLease
from ccbridge.stores.sqlite.writer import SerialExecutor


def _dump(status: dict[str, Any] | None) -> str | None:
    return None if status is None else orjson.dumps(status).decode()


class SqliteConnectorLeases:
    """Mixin of `SqliteStore`: uses its `_writer`, `_reader` and `_now`."""

    _writer: SerialExecutor
    _reader: SerialExecutor
    _now: Callable[[], float]

    async def acquire_connector(self, name: str, owner: str, ttl: float) -> bool:
        now = self._now()

        def job(conn: sqlite3.Connection) -> bool:
            conn.execute(
                "INSERT INTO connector_leases(name, owner, expires_at, updated_ts) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET owner = excluded.owner,"
                " expires_at = excluded.expires_at, updated_ts = excluded.updated_ts"
                " WHERE connector_leases.owner IS NULL OR connector_leases.owner = excluded.owner"
                " OR connector_leases.expires_at IS NULL OR connector_leases.expires_at <= ?",
                (name, owner, now + ttl, now, now),
            )
            row = conn.execute(
                "SELECT owner, expires_at FROM connector_leases WHERE name = ?", (name,)
            ).fetchone()
            return bool(row[0] == owner and row[1] is not None and row[1] > now)

        return await self._writer.submit(job)

    async def renew_connector(
        self, name: str, owner: str, ttl: float, status: dict[str, Any] | None = None
    ) -> bool:
        now = self._now()

        def job(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE connector_leases SET expires_at = ?, status = coalesce(?, status), updated_ts = ?"
                " WHERE name = ? AND owner = ? AND expires_at > ?",
                (now + ttl, _dump(status), now, name, owner, now),
            )
            return cursor.rowcount == 1

        return await self._writer.submit(job)

    async def release_connector(self, name: str, owner: str, status: dict[str, Any] | None = None) -> None:
        now = self._now()

        def job(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE connector_leases SET owner = NULL, expires_at = NULL,"
                " status = coalesce(?, status), updated_ts = ? WHERE name = ? AND owner = ?",
                (_dump(status), now, name, owner),
            )

        await self._writer.submit(job)

    async def connector_leases(self) -> list[ConnectorLease]:
        def job(conn: sqlite3.Connection) -> list[ConnectorLease]:
            rows = conn.execute(
                "SELECT name, owner, expires_at, status, updated_ts FROM connector_leases ORDER BY name"
            ).fetchall()
            return [ConnectorLease(r[0], r[1], r[2], orjson.loads(r[3]), r[4]) for r in rows]

        return await self._reader.submit(job)
