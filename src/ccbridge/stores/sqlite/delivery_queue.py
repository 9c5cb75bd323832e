"""The `DeliveryQueue` port on SQLite (lease, renew, settle, release, next due), as a mixin of
`SqliteStore`.

Leases are rows: a lease is a writer job that first makes expired leases claimable again (their
owner kept, so a slow owner's settlement still counts until someone else leases the row), then
claims due rows through the `deliveries_unleased` index, so processes on the file never deliver the
same due delivery at once. Leasing through the writer also brings the subscription cache up to date
(the writer's batch start), so `cached_subscription` answers for what was just leased. A settlement
applies only while its owner holds the lease; its attempt rows (`record_attempts`) and a dead
letter's forward commit in the same job, which also keeps `_pending` in step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from ccbridge.core.event import DeliveryJob, EndpointSpec
from ccbridge.core.ports import Settlement
from ccbridge.stores import records
from ccbridge.stores.sqlite.history import record_attempts
from ccbridge.stores.sqlite.mixin import SqliteMixin

_SETTLE = records.SETTLE_COLUMNS.format(*"?" * 9)


class SqliteDeliveryQueue(SqliteMixin):
    """The dispatcher's outbox; mixed into `SqliteStore`, whose writer, reader and clock it uses."""

    async def lease(
        self, owner: str, limit: int, lease_seconds: float, exclude_endpoints: Sequence[str] = ()
    ) -> list[DeliveryJob]:
        now = self._now()
        excluded = list(exclude_endpoints)

        def job(conn: sqlite3.Connection) -> list[DeliveryJob]:
            # An expired lease becomes claimable again; its owner is kept, so a slow owner's settlement
            # still counts until someone else leases the row.
            conn.execute("UPDATE deliveries SET lease_until = NULL WHERE lease_until < ?", (now,))
            skip = f" AND endpoint_url NOT IN ({','.join('?' * len(excluded))})" if excluded else ""
            rows = conn.execute(
                "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id IN ("
                " SELECT id FROM deliveries INDEXED BY deliveries_unleased WHERE state = 'pending'"
                " AND lease_until IS NULL AND next_attempt_at <= ?"
                + skip
                + " ORDER BY next_attempt_at LIMIT ?)"
                " RETURNING id, event_id, subscription_id, endpoint_url, endpoint_type, kind, attempts, payload",
                (owner, now + lease_seconds, now, *excluded, limit),
            ).fetchall()
            if not rows:
                return []
            event_ids = sorted({r[1] for r in rows})
            events = {
                e.id: e
                for e in (
                    records.event_from_row(row)
                    for row in conn.execute(
                        f"SELECT {records.EVENT_COLUMNS} FROM events WHERE id IN ({','.join('?' * len(event_ids))})",
                        event_ids,
                    )
                )
            }
            return [
                DeliveryJob(
                    id=r[0],
                    event=events[r[1]],
                    subscription_id=r[2],
                    endpoint=EndpointSpec(r[3], r[4]),
                    attempt=r[6] + 1,
                    kind=r[5],
                    payload=None if r[7] is None else orjson.loads(r[7]),
                )
                for r in sorted(rows, key=lambda r: r[0])
            ]

        return await self._writer.submit(job)

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None:
        now = self._now()

        def job(conn: sqlite3.Connection) -> int:
            record_attempts(conn, owner, settlements, now)
            forwarded = settled = 0
            delivered = conn.executemany(  # the common case, in one statement: no RETURNING, nothing to forward
                "UPDATE deliveries SET state = 'delivered', attempts = ?, last_status = ?, last_error = NULL,"
                " lease_owner = NULL, lease_until = NULL, updated_ts = ?, dead_ts = NULL"
                " WHERE id = ? AND lease_owner = ?",
                [
                    (s.attempt, s.status, now, s.delivery_id, owner)
                    for s in settlements
                    if s.state == "delivered"
                ],
            ).rowcount
            for s in settlements:
                if s.state == "delivered":
                    continue
                cur = conn.execute(
                    f"UPDATE deliveries SET {_SETTLE}"
                    " RETURNING event_id, subscription_id, endpoint_url, endpoint_type, created_ts, kind",
                    records.settlement_params(s, now, owner),
                )
                row = cur.fetchone()
                if row is not None and s.state == "dead":
                    settled += 1
                if row is not None and s.state == "dead" and s.forward_to is not None and row[5] == "event":
                    letter = records.forwarded_letter(s, row, now)
                    conn.execute(
                        "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type, kind,"
                        " payload, next_attempt_at, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?,?,?)",
                        (
                            row[0],
                            row[1],
                            s.forward_to.url,
                            s.forward_to.type,
                            "deadletter",
                            records.dumps(letter),
                            now,
                            now,
                            now,
                        ),
                    )
                    forwarded += 1
            self._pending += forwarded - settled - max(delivered, 0)
            return forwarded

        if await self._writer.submit(job):
            self._notify()

    async def renew(self, owner: str, delivery_ids: Sequence[int], lease_seconds: float) -> int:
        until = self._now() + lease_seconds
        ids = list(delivery_ids)

        def job(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE deliveries SET lease_until = ? WHERE lease_owner = ? AND lease_until IS NOT NULL"
                f" AND id IN ({','.join('?' * len(ids))})",
                (until, owner, *ids),
            ).rowcount

        return await self._writer.submit(job)

    async def release(self, owner: str, delivery_ids: Sequence[int]) -> None:
        """Give leases back on shutdown so the next process need not wait for them to expire."""
        ids = list(delivery_ids)

        def job(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?"
                f" AND id IN ({','.join('?' * len(ids))})",
                (owner, *ids),
            )

        await self._writer.submit(job)

    async def next_due(self, exclude_endpoints: Sequence[str] = ()) -> float | None:
        """When the earliest unleased pending delivery becomes due (epoch seconds), for the dispatcher's
        sleep. Leased rows are left out: their owner settles them, and an expired lease is reclaimed by
        the next `lease`, which the dispatcher calls at least every poll interval. So are the endpoints
        in `exclude_endpoints` (saturated ones), walking the lease's own index."""
        excluded = list(exclude_endpoints)
        skip = f" AND endpoint_url NOT IN ({','.join('?' * len(excluded))})" if excluded else ""

        def job(conn: sqlite3.Connection) -> float | None:
            row = conn.execute(
                "SELECT next_attempt_at FROM deliveries INDEXED BY deliveries_unleased WHERE state = 'pending'"
                " AND lease_until IS NULL" + skip + " ORDER BY next_attempt_at LIMIT 1",
                excluded,
            ).fetchone()
            return None if row is None else float(row[0])

        return await self._reader.submit(job)
