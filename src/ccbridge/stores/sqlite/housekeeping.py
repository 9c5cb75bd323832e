"""The `Housekeeping` port on SQLite (retention), as a mixin of `SqliteStore`.

`purge_history` removes settled history in chunks, one writer job each, so a first purge of months
never stalls ingestion for longer than one chunk takes; where old rows end is found once by
bisection on the rowid keys (`_boundary`), so each chunk scans only the old part of a table.
`purge_expired` applies every subscription's dead-letter `retentionDays`, forgets idempotency
records past their window and rate-limiter rows long past (`core.rate_limit.stale_before`: they
answer as no row). Pending deliveries are never touched by either.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import TYPE_CHECKING

from ccbridge.core.event import Subscription
from ccbridge.core.rate_limit import stale_before
from ccbridge.core.times import IDEMPOTENCY_WINDOW
from ccbridge.stores.sqlite.mixin import SqliteMixin

RATE_TABLES = ("rate_tokens", "rate_slots")
"""The rate limiters' tables, one `tat` per key: `RateLimits` and `EndpointHealth.take_rate_slot`."""


class SqliteHousekeeping(SqliteMixin):
    """Retention; mixed into `SqliteStore`, whose writer, reader, clock and cache it uses."""

    if TYPE_CHECKING:  # the subscription mixin's
        _subs: dict[str, Subscription]

    async def purge_history(self, older_than: float, chunk: int = 5000) -> tuple[int, int]:
        """Forget what is settled and older than `older_than` (epoch seconds): delivered and cancelled
        deliveries last changed before it, then events received before it that no delivery refers to
        any more (pending ones, dead letters and their forwards keep their event). Returns (deliveries,
        events) removed.

        Why in chunks: one writer transaction per `chunk` rows, so a first purge of months of history
        never stalls ingestion for longer than one chunk takes.
        """
        # where old rows end, found once: rows added later get larger keys, so the bounds hold
        old_deliveries, old_events = await self._reader.submit(
            lambda conn: (
                _boundary(conn, "deliveries", "id", "created_ts", older_than),
                _boundary(conn, "events", "seq", "received_ts", older_than),
            )
        )

        def job(conn: sqlite3.Connection) -> tuple[int, int]:
            gone = conn.execute(
                "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE id < ?"
                " AND state IN ('delivered', 'cancelled') AND updated_ts < ? LIMIT ?)",
                (old_deliveries, older_than, chunk),
            ).rowcount
            forgotten = conn.execute(
                "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq < ? AND received_ts < ?"
                " AND NOT EXISTS (SELECT 1 FROM deliveries WHERE deliveries.event_id = events.id) LIMIT ?)",
                (old_events, older_than, chunk),
            ).rowcount
            return gone, forgotten

        deliveries = events = 0
        while True:
            gone, forgotten = await self._writer.submit(job)
            deliveries, events = deliveries + gone, events + forgotten
            if gone < chunk and forgotten < chunk:
                return deliveries, events

    async def purge_expired(self, chunk: int = 5000) -> int:
        """Apply each subscription's dead-letter retentionDays, forget old idempotency records, then
        delete rate-limiter rows long past, `chunk` keys per writer job. Returns the dead letters removed."""
        now = self._now()
        retention = {s.id: s.dead_letter.retention_days for s in self._subs.values()}

        def job(conn: sqlite3.Connection) -> int:
            purged = 0
            for sub_id, days in retention.items():
                purged += conn.execute(
                    "DELETE FROM deliveries WHERE state = 'dead' AND subscription_id = ? AND dead_ts < ?",
                    (sub_id, now - days * 86400.0),
                ).rowcount
            conn.execute("DELETE FROM idempotency WHERE created_ts < ?", (now - IDEMPOTENCY_WINDOW,))
            return purged

        purged = int(await self._writer.submit(job))
        await self._purge_rate_rows(stale_before(now), chunk)
        return purged

    async def _purge_rate_rows(self, cutoff: float, chunk: int) -> int:
        """Delete the rows of `RATE_TABLES` whose `tat` is before `cutoff`; returns how many.

        Each table is walked in key order (its primary key), one page of `chunk` keys per writer job:
        the purge reads each row once however many go, and no job holds the write lock for longer
        than one page takes. A key admitted again meanwhile has a fresh `tat` by the time its page is
        read, inside the writer's transaction, so it stays."""
        removed = 0
        for table in RATE_TABLES:
            after: str | None = None
            while True:
                last, gone = await self._writer.submit(
                    functools.partial(_purge_rate_page, table, after, cutoff, chunk)
                )
                removed += gone
                if last is None:
                    break
                after = last
        return removed


def _purge_rate_page(
    table: str, after: str | None, cutoff: float, chunk: int, conn: sqlite3.Connection
) -> tuple[str | None, int]:
    """One page: the `chunk` keys after `after` (from the first key when None); deletes those whose
    `tat` is before `cutoff`. Returns (the page's last key when the page was full, else None; rows
    deleted)."""
    where, params = ("", ()) if after is None else ("WHERE key > ?", (after,))
    page = conn.execute(
        f"SELECT key, tat FROM {table} {where} ORDER BY key LIMIT ?", (*params, chunk)
    ).fetchall()
    stale = [(key,) for key, tat in page if tat < cutoff]
    conn.executemany(f"DELETE FROM {table} WHERE key = ?", stale)
    return (page[-1][0] if len(page) == chunk else None), len(stale)


def _boundary(conn: sqlite3.Connection, table: str, key: str, ts: str, cutoff: float) -> int:
    """The first `key` whose `ts` is at or after `cutoff`, by bisection on the (rowid) key.

    Keys grow with time, so everything older than `cutoff` lies below the boundary: the purge scans
    only that part of the table, in O(log n) seeks to find it, rather than the whole table each time.
    """
    lo, hi = conn.execute(
        f"SELECT coalesce(min({key}), 0), coalesce(max({key}), 0) + 1 FROM {table}"
    ).fetchone()
    while lo < hi:
        mid = (lo + hi) // 2
        row = conn.execute(
            f"SELECT {key}, {ts} FROM {table} WHERE {key} >= ? ORDER BY {key} LIMIT 1", (mid,)
        ).fetchone()
        if row is None or row[1] >= cutoff:
            hi = mid
        else:
            lo = row[0] + 1
    return int(lo)
