"""The `ConnectorLeases` port on PostgreSQL: rows of `connector_leases` (migration 10).

Acquiring is one `INSERT ... ON CONFLICT DO UPDATE ... WHERE` statement: the row lock it takes
serializes racing replicas, and the second sees the first's lease as held, so only one gets it.
Renewal and release are conditional UPDATEs on the owner (and, for renewal, an unexpired lease).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson

from ccbridge.core.ports import ConnectorLease


def _dump(status: dict[str, Any] | None) -> str | None:
    return None if status is None else orjson.dumps(status).decode()


class PostgresConnectorLeases:
    """Mixin of `PostgresStore`: uses its `_conn` and `_now`."""

    _now: Callable[[], float]
    _conn: Callable[..., AbstractAsyncContextManager[Any]]

    async def acquire_connector(self, name: str, owner: str, ttl: float) -> bool:
        now = self._now()
        async with self._conn(write=True) as conn:
            holder = await conn.fetchval(
                "INSERT INTO connector_leases(name, owner, expires_at, updated_ts) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
                " expires_at = excluded.expires_at, updated_ts = excluded.updated_ts"
                " WHERE connector_leases.owner IS NULL OR connector_leases.owner = excluded.owner"
                " OR connector_leases.expires_at IS NULL OR connector_leases.expires_at <= $4"
                " RETURNING owner",
                name,
                owner,
                now + ttl,
                now,
            )
            return bool(holder == owner)

    async def renew_connector(
        self, name: str, owner: str, ttl: float, status: dict[str, Any] | None = None
    ) -> bool:
        now = self._now()
        async with self._conn(write=True) as conn:
            renewed = await conn.fetchval(
                "UPDATE connector_leases SET expires_at = $1, status = coalesce($2, status), updated_ts = $3"
                " WHERE name = $4 AND owner = $5 AND expires_at > $3 RETURNING 1",
                now + ttl,
                _dump(status),
                now,
                name,
                owner,
            )
            return bool(renewed == 1)

    async def release_connector(self, name: str, owner: str, status: dict[str, Any] | None = None) -> None:
        now = self._now()
        async with self._conn(write=True) as conn:
            await conn.execute(
                "UPDATE connector_leases SET owner = NULL, expires_at = NULL,"
                " status = coalesce($1, status), updated_ts = $2 WHERE name = $3 AND owner = $4",
                _dump(status),
                now,
                name,
                owner,
            )

    async def connector_leases(self) -> list[ConnectorLease]:
        async with self._conn() as conn:
            rows = await conn.fetch(
                "SELECT name, owner, expires_at, status, updated_ts FROM connector_leases ORDER BY name"
            )
        return [
            ConnectorLease(r["name"], r["owner"], r["expires_at"], orjson.loads(r["status"]), r["updated_ts"])
            for r in rows
        ]
