"""The `DeliveryQueue` port on PostgreSQL (lease, renew, settle, release, next due), as a mixin of
`PostgresStore`.

Leases take rows with `FOR UPDATE SKIP LOCKED`, so replicas never lease the same due delivery and
never wait on each other; an expired lease is claimable by anyone, its owner kept until then so a
slow owner's settlement still counts. Every lease first brings the subscription cache up to date, so
`cached_subscription` answers for what was just leased. A settlement applies only while its owner
holds the lease; its attempt rows (`record_attempts`) and a dead letter's forward commit in the same
transaction. Commits that make deliveries due (forwards, releases) `NOTIFY` the other replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from ccbridge.core.event import DeliveryJob, EndpointSpec
from ccbridge.core.ports import Settlement
from ccbridge.stores import records
from ccbridge.stores.postgres.answers import rowcount
from ccbridge.stores.postgres.history import record_attempts
from ccbridge.stores.postgres.mixin import PostgresMixin

_E_COLUMNS = records.EVENT_COLUMNS_OF_E

_SETTLE = records.SETTLE_COLUMNS.format(*(f"${n}" for n in range(1, 10)))


class PostgresDeliveryQueue(PostgresMixin):
    """The dispatcher's outbox; mixed into `PostgresStore`, whose pool, clock and channels it uses."""

    if TYPE_CHECKING:  # the subscription mixin's

        async def _sync_subscriptions(self, conn: Any, version: int | None = None) -> None: ...

    async def lease(
        self, owner: str, limit: int, lease_seconds: float, exclude_endpoints: Sequence[str] = ()
    ) -> list[DeliveryJob]:
        now = self._now()
        async with self._conn(write=True) as conn:
            await self._sync_subscriptions(conn)
            rows = await conn.fetch(
                "WITH picked AS (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $1"
                " AND (lease_until IS NULL OR lease_until < $1) AND endpoint_url <> ALL($4::text[])"
                " ORDER BY next_attempt_at, id LIMIT $5 FOR UPDATE SKIP LOCKED),"
                " leased AS (UPDATE deliveries d SET lease_owner = $2, lease_until = $3 FROM picked"
                " WHERE d.id = picked.id RETURNING d.id, d.event_id, d.subscription_id, d.endpoint_url,"
                " d.endpoint_type, d.kind, d.attempts, d.payload)"
                f" SELECT l.*, {_E_COLUMNS} FROM leased l JOIN events e ON e.id = l.event_id ORDER BY l.id",
                now,
                owner,
                now + lease_seconds,
                list(exclude_endpoints),
                limit,
            )
        return [
            DeliveryJob(
                id=r[0],
                event=records.event_from_row(tuple(r[8:18])),
                subscription_id=r[2],
                endpoint=EndpointSpec(r[3], r[4]),
                attempt=r[6] + 1,
                kind=r[5],
                payload=None if r[7] is None else orjson.loads(r[7]),
            )
            for r in rows
        ]

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None:
        now = self._now()
        delivered = [s for s in settlements if s.state == "delivered"]
        forwarded = 0
        async with self._conn(write=True) as conn:
            await record_attempts(conn, owner, settlements, now)
            if delivered:  # the common case, in one statement: nothing to return, nothing to forward
                await conn.execute(
                    "UPDATE deliveries d SET state = 'delivered', attempts = s.attempt, last_status = s.status,"
                    " last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_ts = $4, dead_ts = NULL"
                    " FROM unnest($1::bigint[], $2::integer[], $3::integer[]) AS s(id, attempt, status)"
                    " WHERE d.id = s.id AND d.lease_owner = $5",
                    [s.delivery_id for s in delivered],
                    [s.attempt for s in delivered],
                    [s.status for s in delivered],
                    now,
                    owner,
                )
            for s in settlements:
                if s.state == "delivered":
                    continue
                row = await conn.fetchrow(
                    f"UPDATE deliveries SET {_SETTLE}"
                    " RETURNING event_id, subscription_id, endpoint_url, endpoint_type, created_ts, kind",
                    *records.settlement_params(s, now, owner),
                )
                if row is None or s.state != "dead" or s.forward_to is None or row[5] != "event":
                    continue
                letter = records.forwarded_letter(s, row, now)
                await conn.execute(
                    "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type, kind,"
                    " payload, next_attempt_at, created_ts, updated_ts) VALUES ($1,$2,$3,$4,'deadletter',$5,$6,$6,$6)",
                    row[0],
                    row[1],
                    s.forward_to.url,
                    s.forward_to.type,
                    records.dumps(letter),
                    now,
                )
                forwarded += 1
            if forwarded:
                await conn.execute("SELECT pg_notify($1, $2)", self._channel, self._instance)
        if forwarded:
            self._notify()

    async def renew(self, owner: str, delivery_ids: Sequence[int], lease_seconds: float) -> int:
        async with self._conn(write=True) as conn:
            status = await conn.execute(
                "UPDATE deliveries SET lease_until = $1 WHERE lease_owner = $2 AND lease_until IS NOT NULL"
                " AND id = ANY($3::bigint[])",
                self._now() + lease_seconds,
                owner,
                list(delivery_ids),
            )
        return rowcount(status)

    async def release(self, owner: str, delivery_ids: Sequence[int]) -> None:
        """Give leases back on shutdown so the next replica need not wait for them to expire."""
        async with self._conn(write=True) as conn:
            await conn.execute(
                "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1"
                " AND id = ANY($2::bigint[])",
                owner,
                list(delivery_ids),
            )
            await conn.execute("SELECT pg_notify($1, $2)", self._channel, self._instance)

    async def next_due(self, exclude_endpoints: Sequence[str] = ()) -> float | None:
        """When the earliest unleased pending delivery becomes due, for the dispatcher's sleep. Leased
        rows are left out (an expired lease is reclaimed by the next `lease`), as are the endpoints in
        `exclude_endpoints`."""
        async with self._conn() as conn:
            value = await conn.fetchval(
                "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending' AND lease_until IS NULL"
                " AND endpoint_url <> ALL($1::text[])",
                list(exclude_endpoints),
            )
        return None if value is None else float(value)
