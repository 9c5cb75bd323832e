"""The `Housekeeping` port on SQLite (retention), as a mixin of `SqliteStore`.

Every step works in bounded pages, one writer job each, so a backlog of any size never holds the
write lock for longer than one page takes. `purge_history` removes settled history; where old rows
end is found once by bisection on the rowid keys (`_boundary`), so each chunk scans only the old
part of a table. `purge_expired` applies every subscription's dead-letter `retentionDays` (by the
`deliveries_dead` index), then walks the idempotency records and the rate-limiter rows in key order
(`_purge_page`), forgetting those past their window or long past (`core.rate_limit.stale_before`:
they answer as no row). `purge_replays` removes finished replay jobs, their marks first. Pending
deliveries, and queued or running replay jobs, are never touched."""

from __future__ import annotations

import functools
import sqlite3
from typing import TYPE_CHECKING

from ccbridge.core.event import Subscription
from ccbridge.stores.purge_tables import PagedTable, paged_purges
from ccbridge.stores.sqlite.mixin import SqliteMixin


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
        """Apply each subscription's dead-letter retentionDays, forget idempotency records past their
        window, then delete rate-limiter rows long past; every step `chunk` rows per writer job, so a
        backlog never holds the write lock for longer than one page takes. Returns the dead letters
        removed."""
        now = self._now()
        purged = 0
        for sub_id, days in [(s.id, s.dead_letter.retention_days) for s in self._subs.values()]:
            cutoff = now - days * 86400.0
            while True:
                gone = await self._writer.submit(functools.partial(_purge_dead_page, sub_id, cutoff, chunk))
                purged += gone
                if gone < chunk:
                    break
        for table, cutoff in paged_purges(now):
            await self._purge_pages(table, cutoff, chunk)
        return purged

    async def purge_replays(self, older_than: float, chunk: int = 5000) -> int:
        """Delete succeeded and failed replay jobs finished before `older_than`, with what they queued
        (`replay_marks`); queued and running jobs stay. Marks go first, `chunk` per writer job, then
        the jobs, so a job that queued millions never holds the write lock long. Returns jobs removed."""
        removed = 0
        while True:
            marks, jobs = await self._writer.submit(functools.partial(_purge_replay_page, older_than, chunk))
            removed += jobs
            if marks < chunk and jobs < chunk:
                return removed

    async def _purge_pages(self, table: PagedTable, cutoff: float, chunk: int) -> int:
        """Delete the rows of `table` whose time is before `cutoff`; returns how many.

        The table is walked in key order (its primary key), one page of `chunk` keys per writer job:
        the purge reads each row once however many go, and no job holds the write lock for longer
        than one page takes. A row written again meanwhile has a fresh time by the time its page is
        read, inside the writer's transaction, so it stays."""
        removed = 0
        after: tuple[object, ...] | None = None
        while True:
            last, gone = await self._writer.submit(
                functools.partial(_purge_page, table, after, cutoff, chunk)
            )
            removed += gone
            if last is None:
                return removed
            after = last


def _purge_page(
    table: PagedTable, after: tuple[object, ...] | None, cutoff: float, chunk: int, conn: sqlite3.Connection
) -> tuple[tuple[object, ...] | None, int]:
    """One page: the `chunk` keys after `after` (from the first key when None); deletes those whose
    time is before `cutoff`. Returns (the page's last key when the page was full, else None; rows
    deleted)."""
    keys = ", ".join(table.keys)
    marks = ", ".join("?" for _ in table.keys)
    where, params = ("", ()) if after is None else (f"WHERE ({keys}) > ({marks})", after)
    page = conn.execute(
        f"SELECT {keys}, {table.ts} FROM {table.name} {where} ORDER BY {keys} LIMIT ?", (*params, chunk)
    ).fetchall()
    stale = [tuple(row[:-1]) for row in page if row[-1] < cutoff]
    match = " AND ".join(f"{k} = ?" for k in table.keys)
    conn.executemany(f"DELETE FROM {table.name} WHERE {match}", stale)
    return (tuple(page[-1][:-1]) if len(page) == chunk else None), len(stale)


def _purge_dead_page(sub_id: str, cutoff: float, chunk: int, conn: sqlite3.Connection) -> int:
    """One page of a subscription's dead letters dead before `cutoff` (by `deliveries_dead`)."""
    return int(
        conn.execute(
            "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE state = 'dead'"
            " AND subscription_id = ? AND dead_ts < ? LIMIT ?)",
            (sub_id, cutoff, chunk),
        ).rowcount
    )


_FINISHED = "SELECT id FROM replay_jobs WHERE state IN ('succeeded', 'failed') AND finished_ts < ?"


def _purge_replay_page(older_than: float, chunk: int, conn: sqlite3.Connection) -> tuple[int, int]:
    """One page of the replay purge: up to `chunk` marks of finished jobs; once those are fewer than
    `chunk`, up to `chunk` finished jobs (their marks gone already: a finished job queues no more).
    Returns (marks, jobs) deleted."""
    marks = conn.execute(
        "DELETE FROM replay_marks WHERE (job_id, event_id, subscription_id, endpoint_url) IN"
        " (SELECT job_id, event_id, subscription_id, endpoint_url FROM replay_marks"
        f" WHERE job_id IN ({_FINISHED}) LIMIT ?)",
        (older_than, chunk),
    ).rowcount
    if marks >= chunk:
        return marks, 0
    jobs = conn.execute(
        f"DELETE FROM replay_jobs WHERE id IN ({_FINISHED} LIMIT ?)", (older_than, chunk)
    ).rowcount
    return marks, jobs


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
