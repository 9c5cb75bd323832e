"""Admission under `limits.max_pending` on PostgreSQL, as a mixin of `PostgresStore`.

The limit caps the unsettled deliveries across every replica sharing the schema. An append batch
that would add deliveries counts them under a transaction-scoped advisory lock (`_count_pending_locked`),
so two batches, in this replica or another, cannot both take the last room; `_admit` then refuses
(`Overloaded` with `retry_after`) an event whose deliveries would not fit, and remembers how many it
needed, so `_backpressure` can say in delivery-status whether ingestion is still being refused.
`_refused` counts refusals for `/metrics` (through `backlog`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccbridge.errors import Overloaded

OVERLOADED_RETRY_AFTER = 5.0  # seconds: a floor for a refused caller's retry


class PostgresAdmission:
    """The `max_pending` bookkeeping shared by appends (`_admit`) and delivery reports (`_backpressure`)."""

    if TYPE_CHECKING:  # the store's own, set in its constructor
        _max_pending: int | None
        _refused: int
        _refused_need: int  # deliveries of the latest refused event: refusing while they don't fit

    async def _count_pending_locked(self, conn: Any) -> int:
        """Unsettled deliveries across every replica, under a transaction lock that appends adding
        deliveries take first, so two batches cannot both take the last room under `max_pending`."""
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('ccbridge:pending:' || current_schema(), 0))"
        )
        return await _count_pending(conn)

    def _admit(self, pending: int, deliveries: int) -> None:
        """Raises Overloaded when `deliveries` more would take `pending` past `max_pending`."""
        limit = self._max_pending
        assert limit is not None
        if pending + deliveries > limit:
            self._refused += 1
            self._refused_need = deliveries
            raise Overloaded(
                f"{pending} deliveries are pending, the limit is {limit}"
                " (limits.max_pending); try again once they have drained",
                retry_after=OVERLOADED_RETRY_AFTER,
            )
        self._refused_need = 0

    async def _backpressure(self, conn: Any) -> str | None:
        """Why events are refused now, or None: the latest refused event still would not fit."""
        limit = self._max_pending
        if limit is None or not self._refused_need:
            return None
        pending = await _count_pending(conn)
        if pending + self._refused_need <= limit:
            return None
        return f"ingestion refused: {pending} deliveries pending, limit {limit} (limits.max_pending)"


async def _count_pending(conn: Any) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM deliveries WHERE state = 'pending'"))
