"""The `DeliveryReports` port on PostgreSQL (delivery-status counts, the backlog), as a mixin of
`PostgresStore`.

Read-only: each report is one read transaction over `deliveries`, counting every replica's work.
`delivery_counts` covers a subscription's event deliveries only (not dead-letter forwards), and its
`backpressure` says whether ingestion is being refused under `limits.max_pending` (see `admission.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccbridge.core.ports import Backlog, DeliveryCounts
from ccbridge.core.times import RECENT_WINDOW
from ccbridge.stores import records
from ccbridge.stores.postgres.mixin import PostgresMixin


class PostgresDeliveryReports(PostgresMixin):
    """Figures about deliveries; mixed into `PostgresStore`."""

    if TYPE_CHECKING:  # the store's own, and the admission mixin's
        _max_pending: int | None
        _refused: int

        async def _backpressure(self, conn: Any) -> str | None: ...

    async def backlog(self) -> Backlog:
        now = self._now()
        async with self._conn() as conn:
            row = await conn.fetchrow(
                "SELECT count(*), count(*) FILTER (WHERE attempts > 0), min(next_attempt_at) FILTER"
                " (WHERE (lease_until IS NULL OR lease_until < $1) AND next_attempt_at <= $1)"
                " FROM deliveries WHERE state = 'pending'",
                now,
            )
        return Backlog(int(row[0]), int(row[1]), row[2], self._max_pending, self._refused)

    async def delivery_counts(self, sub_id: str) -> DeliveryCounts:
        now = self._now()
        async with self._conn() as conn:
            groups = await conn.fetch(
                "SELECT state, attempts > 0, count(*) FROM deliveries WHERE subscription_id = $1"
                " AND kind = 'event' GROUP BY 1, 2",
                sub_id,
            )
            last = await conn.fetchrow(
                "SELECT state, last_error, updated_ts FROM deliveries WHERE subscription_id = $1 AND attempts > 0"
                " AND kind = 'event' ORDER BY updated_ts DESC, id DESC LIMIT 1",
                sub_id,
            )
            success = await conn.fetchval(
                "SELECT max(updated_ts) FROM deliveries WHERE subscription_id = $1 AND state = 'delivered'"
                " AND kind = 'event'",
                sub_id,
            )
            recent_failures = await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE subscription_id = $1 AND last_error IS NOT NULL"
                " AND state <> 'delivered' AND kind = 'event' AND updated_ts > $2",
                sub_id,
                now - RECENT_WINDOW,
            )
            backpressure = await self._backpressure(conn)
        return records.delivery_counts(groups, last, success, recent_failures, backpressure)
