"""The `DeliveryReports` port on SQLite (delivery-status counts, the backlog), as a mixin of
`SqliteStore`.

Read-only, on the reader thread, so a long write never delays them. `delivery_counts` covers a
subscription's event deliveries only (not dead-letter forwards), and its `backpressure` says
whether ingestion is being refused under `limits.max_pending` (see `admission.py`).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from ccbridge.core.ports import Backlog, DeliveryCounts
from ccbridge.core.times import RECENT_WINDOW
from ccbridge.stores import records
from ccbridge.stores.sqlite.mixin import SqliteMixin


class SqliteDeliveryReports(SqliteMixin):
    """Figures about deliveries; mixed into `SqliteStore`."""

    if TYPE_CHECKING:  # the store's own, and the admission mixin's
        _max_pending: int | None
        _refused: int

        def _backpressure(self) -> str | None: ...

    async def backlog(self) -> Backlog:
        now = self._now()

        def job(conn: sqlite3.Connection) -> Backlog:
            pending, retrying = conn.execute(
                "SELECT count(*), coalesce(sum(attempts > 0), 0) FROM deliveries WHERE state = 'pending'"
            ).fetchone()
            (oldest,) = conn.execute(
                "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending' AND lease_until IS NULL"
                " AND next_attempt_at <= ?",
                (now,),
            ).fetchone()
            return Backlog(pending, retrying, oldest, self._max_pending, self._refused)

        return await self._reader.submit(job)

    async def delivery_counts(self, sub_id: str) -> DeliveryCounts:
        now = self._now()

        def job(conn: sqlite3.Connection) -> DeliveryCounts:
            groups = conn.execute(
                "SELECT state, attempts > 0, count(*) FROM deliveries"
                " WHERE subscription_id = ? AND kind = 'event' GROUP BY 1, 2",
                (sub_id,),
            ).fetchall()
            last = conn.execute(
                "SELECT state, last_error, updated_ts FROM deliveries WHERE subscription_id = ? AND attempts > 0"
                " AND kind = 'event' ORDER BY updated_ts DESC, id DESC LIMIT 1",
                (sub_id,),
            ).fetchone()
            success = conn.execute(
                "SELECT max(updated_ts) FROM deliveries WHERE subscription_id = ? AND state = 'delivered' AND kind = 'event'",
                (sub_id,),
            ).fetchone()[0]
            recent_failures = conn.execute(
                "SELECT count(*) FROM deliveries WHERE subscription_id = ? AND last_error IS NOT NULL"
                " AND state != 'delivered' AND kind = 'event' AND updated_ts > ?",
                (sub_id, now - RECENT_WINDOW),
            ).fetchone()[0]
            return records.delivery_counts(groups, last, success, recent_failures, self._backpressure())

        return await self._reader.submit(job)
