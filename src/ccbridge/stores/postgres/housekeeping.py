"""The `Housekeeping` port on PostgreSQL (retention), as a mixin of `PostgresStore`.

`purge_history` removes settled history in bounded chunks, one transaction each under a
transaction-scoped advisory lock per schema, so a first purge of months never holds locks for long
and replicas running housekeeping at once take turns rather than deleting the same rows.
`purge_expired` applies every subscription's dead-letter `retentionDays` in one statement, with the
cache brought up to date first, and forgets idempotency records past their window. Pending
deliveries are never touched by either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccbridge.core.event import Subscription
from ccbridge.core.times import IDEMPOTENCY_WINDOW
from ccbridge.stores.postgres.answers import rowcount
from ccbridge.stores.postgres.mixin import PostgresMixin


class PostgresHousekeeping(PostgresMixin):
    """Retention; mixed into `PostgresStore`, whose pool and clock it uses."""

    if TYPE_CHECKING:  # the subscription mixin's
        _subs: dict[str, Subscription]

        async def _sync_subscriptions(self, conn: Any, version: int | None = None) -> None: ...

    async def purge_history(self, older_than: float, chunk: int = 5000) -> tuple[int, int]:
        """Forget delivered and cancelled deliveries last changed before `older_than`, then events
        received before it that no delivery refers to any more. Returns (deliveries, events) removed.

        Why in chunks: one transaction per `chunk` rows, each under the housekeeping lock, so a first
        purge of months of history never holds locks for long and replicas take turns."""
        deliveries = events = 0
        while True:
            async with self._conn(write=True) as conn:
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended('ccbridge:housekeeping:' || current_schema(), 0))"
                )
                gone = rowcount(
                    await conn.execute(
                        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE state IN"
                        " ('delivered', 'cancelled') AND updated_ts < $1 LIMIT $2)",
                        older_than,
                        chunk,
                    )
                )
                forgotten = rowcount(
                    await conn.execute(
                        "DELETE FROM events WHERE seq IN (SELECT seq FROM events e WHERE received_ts < $1"
                        " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT $2)",
                        older_than,
                        chunk,
                    )
                )
            deliveries, events = deliveries + gone, events + forgotten
            if gone < chunk and forgotten < chunk:
                return deliveries, events

    async def purge_expired(self) -> int:
        """Apply each subscription's dead-letter retentionDays, and forget old idempotency records."""
        now = self._now()
        async with self._conn(write=True) as conn:
            await self._sync_subscriptions(conn)
            subs = list(self._subs.values())
            purged = rowcount(
                await conn.execute(
                    "DELETE FROM deliveries d USING unnest($1::text[], $2::float8[]) AS r(sub, cutoff)"
                    " WHERE d.state = 'dead' AND d.subscription_id = r.sub AND d.dead_ts < r.cutoff",
                    [s.id for s in subs],
                    [now - s.dead_letter.retention_days * 86400.0 for s in subs],
                )
            )
            await conn.execute("DELETE FROM idempotency WHERE created_ts < $1", now - IDEMPOTENCY_WINDOW)
        return purged
