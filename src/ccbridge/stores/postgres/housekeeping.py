"""The `Housekeeping` port on PostgreSQL (retention), as a mixin of `PostgresStore`.

`purge_history` removes settled history in bounded chunks, one transaction each under a
transaction-scoped advisory lock per schema, so a first purge of months never holds locks for long
and replicas running housekeeping at once take turns rather than deleting the same rows.
`purge_expired` applies every subscription's dead-letter `retentionDays` in one statement, with the
cache brought up to date first, forgets idempotency records past their window, and then forgets
rate-limiter rows long past (`core.rate_limit.stale_before`: they answer as no row), in bounded
chunks under the same advisory lock. Pending deliveries are never touched by either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccbridge.core.event import Subscription
from ccbridge.core.rate_limit import stale_before
from ccbridge.core.times import IDEMPOTENCY_WINDOW
from ccbridge.stores.postgres.answers import rowcount
from ccbridge.stores.postgres.mixin import PostgresMixin

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('ccbridge:housekeeping:' || current_schema(), 0))"
"""The housekeeping lock, per schema, for the transaction: replicas purging at once take turns."""

RATE_TABLES = ("rate_tokens", "rate_slots")
"""The rate limiters' tables, one `tat` per key: `RateLimits` and `EndpointHealth.take_rate_slot`."""


def _rate_page_sql(table: str, first: bool) -> str:
    """One page of the rate purge: the next `chunk` keys (after `$3`, unless `first`), those of them
    whose `tat` is before `$2` deleted. Answers (keys in the page, its last key, rows deleted). The
    delete re-checks `tat` on a row an admission updated meanwhile, so a key used again stays."""
    after = "" if first else "WHERE key > $3"
    return (
        f"WITH page AS (SELECT key FROM {table} {after} ORDER BY key LIMIT $1),"
        f" gone AS (DELETE FROM {table} r USING page WHERE r.key = page.key AND r.tat < $2 RETURNING 1)"
        " SELECT (SELECT count(*) FROM page), (SELECT max(key) FROM page), (SELECT count(*) FROM gone)"
    )


_RATE_PAGES = {table: (_rate_page_sql(table, True), _rate_page_sql(table, False)) for table in RATE_TABLES}


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
                await conn.execute(_LOCK)
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

    async def purge_expired(self, chunk: int = 5000) -> int:
        """Apply each subscription's dead-letter retentionDays, forget old idempotency records, then
        delete rate-limiter rows long past, `chunk` keys per transaction. Returns the dead letters removed."""
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
        await self._purge_rate_rows(stale_before(now), chunk)
        return purged

    async def _purge_rate_rows(self, cutoff: float, chunk: int) -> int:
        """Delete the rows of `RATE_TABLES` whose `tat` is before `cutoff`; returns how many.

        Each table is walked in key order (its primary key), one page of `chunk` keys per transaction
        under the housekeeping lock: the purge reads each row once however many go, and holds row
        locks for one page at most. No index on `tat`: it would cost every admission an index write
        and its HOT update, for a purge that runs every few minutes."""
        removed = 0
        for table in RATE_TABLES:
            first, rest = _RATE_PAGES[table]
            after: str | None = None
            while True:
                async with self._conn(write=True) as conn:
                    await conn.execute(_LOCK)
                    if after is None:
                        seen, last, gone = await conn.fetchrow(first, chunk, cutoff)
                    else:
                        seen, last, gone = await conn.fetchrow(rest, chunk, cutoff, after)
                removed += gone
                if seen < chunk:
                    break
                after = last
        return removed
