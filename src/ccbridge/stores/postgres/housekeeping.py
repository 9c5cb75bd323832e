"""The `Housekeeping` port on PostgreSQL (retention), as a mixin of `PostgresStore`.

Every step works in bounded pages, one transaction each under a transaction-scoped advisory lock per
schema (`_LOCK`), so a backlog of any size never holds locks for long and replicas running
housekeeping at once take turns rather than deleting the same rows. `purge_history` removes settled
history. `purge_expired` applies every subscription's dead-letter `retentionDays` (with the cache
brought up to date first), then walks the idempotency records and the rate-limiter rows in key
order (`_page_sql`), forgetting those past their window or long past (`core.rate_limit.stale_before`:
they answer as no row). `purge_replays` removes finished replay jobs, their marks first. Pending
deliveries, and queued or running replay jobs, are never touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccbridge.core.event import Subscription
from ccbridge.stores.postgres.answers import rowcount
from ccbridge.stores.postgres.mixin import PostgresMixin
from ccbridge.stores.purge_tables import IDEMPOTENCY, RATE_TABLES, PagedTable, paged_purges

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('ccbridge:housekeeping:' || current_schema(), 0))"
"""The housekeeping lock, per schema, for the transaction: replicas purging at once take turns."""


def _page_sql(table: PagedTable, first: bool) -> str:
    """One page of a key-order purge: the next `$1` keys (after `$3`, `$4`, ... unless `first`), those
    of them whose time is before `$2` deleted. Answers (keys in the page, rows deleted, then the
    page's last key, column by column). The delete re-checks the time on a row written meanwhile,
    so a key used again stays."""
    keys = ", ".join(table.keys)
    after = "" if first else f"WHERE ({keys}) > ({', '.join(f'${n + 3}' for n in range(len(table.keys)))})"
    same = " AND ".join(f"r.{k} = page.{k}" for k in table.keys)
    desc = ", ".join(f"{k} DESC" for k in table.keys)
    return (
        f"WITH page AS (SELECT {keys} FROM {table.name} {after} ORDER BY {keys} LIMIT $1),"
        f" gone AS (DELETE FROM {table.name} r USING page WHERE {same} AND r.{table.ts} < $2 RETURNING 1),"
        f" last AS (SELECT {keys} FROM page ORDER BY {desc} LIMIT 1)"
        " SELECT (SELECT count(*) FROM page), (SELECT count(*) FROM gone), last.*"
        " FROM (VALUES (1)) AS one(x) LEFT JOIN last ON true"
    )


_PAGES = {t.name: (_page_sql(t, True), _page_sql(t, False)) for t in (IDEMPOTENCY, *RATE_TABLES)}

_DEAD_PAGE = (
    "DELETE FROM deliveries WHERE id IN (SELECT d.id FROM deliveries d"
    " JOIN unnest($1::text[], $2::float8[]) AS r(sub, cutoff) ON d.subscription_id = r.sub"
    " WHERE d.state = 'dead' AND d.dead_ts < r.cutoff LIMIT $3)"
)
"""One page of dead-letter retention: up to `$3` dead letters past their subscription's cutoff."""

_FINISHED = "SELECT id FROM replay_jobs WHERE state IN ('succeeded', 'failed') AND finished_ts < $1"
_REPLAY_MARKS_PAGE = (
    "DELETE FROM replay_marks WHERE (job_id, event_id, subscription_id, endpoint_url) IN"
    " (SELECT job_id, event_id, subscription_id, endpoint_url FROM replay_marks"
    f" WHERE job_id IN ({_FINISHED}) LIMIT $2)"
)
_REPLAY_JOBS_PAGE = f"DELETE FROM replay_jobs WHERE id IN ({_FINISHED} LIMIT $2)"


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
        """Apply each subscription's dead-letter retentionDays, forget idempotency records past their
        window, then delete rate-limiter rows long past; every step `chunk` rows per transaction
        under the housekeeping lock. Returns the dead letters removed."""
        now = self._now()
        purged = 0
        subs: list[str] | None = None
        cutoffs: list[float] = []
        while True:
            async with self._conn(write=True) as conn:
                await conn.execute(_LOCK)
                if subs is None:
                    await self._sync_subscriptions(conn)
                    subs = [s.id for s in self._subs.values()]
                    cutoffs = [now - s.dead_letter.retention_days * 86400.0 for s in self._subs.values()]
                gone = rowcount(await conn.execute(_DEAD_PAGE, subs, cutoffs, chunk))
            purged += gone
            if gone < chunk:
                break
        for table, cutoff in paged_purges(now):
            await self._purge_pages(table, cutoff, chunk)
        return purged

    async def purge_replays(self, older_than: float, chunk: int = 5000) -> int:
        """Delete succeeded and failed replay jobs finished before `older_than`, with what they queued
        (`replay_marks`); queued and running jobs stay. Marks go first, `chunk` per transaction under
        the housekeeping lock, then the jobs. Returns jobs removed."""
        removed = 0
        while True:
            async with self._conn(write=True) as conn:
                await conn.execute(_LOCK)
                marks = rowcount(await conn.execute(_REPLAY_MARKS_PAGE, older_than, chunk))
                jobs = 0
                if marks < chunk:
                    jobs = rowcount(await conn.execute(_REPLAY_JOBS_PAGE, older_than, chunk))
            removed += jobs
            if marks < chunk and jobs < chunk:
                return removed

    async def _purge_pages(self, table: PagedTable, cutoff: float, chunk: int) -> int:
        """Delete the rows of `table` whose time is before `cutoff`; returns how many.

        The table is walked in key order (its primary key), one page of `chunk` keys per transaction
        under the housekeeping lock: the purge reads each row once however many go, and holds row
        locks for one page at most. No index on the time column: it would cost every write an index
        update (on the rate tables, every admission its HOT update), for a purge that runs every few
        minutes."""
        first, rest = _PAGES[table.name]
        removed = 0
        after: tuple[Any, ...] | None = None
        while True:
            async with self._conn(write=True) as conn:
                await conn.execute(_LOCK)
                if after is None:
                    seen, gone, *last = await conn.fetchrow(first, chunk, cutoff)
                else:
                    seen, gone, *last = await conn.fetchrow(rest, chunk, cutoff, *after)
            removed += int(gone)
            if seen < chunk:
                return removed
            after = tuple(last)
