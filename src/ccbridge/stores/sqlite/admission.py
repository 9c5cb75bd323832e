"""Admission under `limits.max_pending` on SQLite, as a mixin of `SqliteStore`.

`_pending` counts the unsettled deliveries across the file. The writer keeps it inside its
transactions (appends, settlements, replays, deletes and registry notices adjust it), and
`_count_pending` takes it again from the file when the store opens, when a batch rolled back and
when another process committed; so the limit costs no COUNT per append. `_admit` runs in the
append's writer job and refuses (`Overloaded` with `retry_after`) an event whose deliveries would
not fit, remembering how many it needed, so `_backpressure` can say in delivery-status whether
ingestion is still being refused. `_refused` counts refusals for `/metrics` (through `backlog`).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from ccbridge.errors import Overloaded

OVERLOADED_RETRY_AFTER = 5.0  # seconds: a floor for a refused caller's retry


class SqliteAdmission:
    """The `max_pending` bookkeeping shared by appends (`_admit`) and delivery reports (`_backpressure`)."""

    if TYPE_CHECKING:  # the store's own, set in its constructor
        _max_pending: int | None
        _pending: int
        _refused: int
        _refused_need: int  # deliveries of the latest refused event: refusing while they don't fit

    def _count_pending(self, conn: sqlite3.Connection) -> None:
        self._pending = int(
            conn.execute("SELECT count(*) FROM deliveries WHERE state = 'pending'").fetchone()[0]
        )

    def _admit(self, deliveries: int) -> None:
        """Raises Overloaded when `deliveries` more would pass `max_pending` (in the writer's job)."""
        if not deliveries or self._max_pending is None:
            return
        if self._pending + deliveries > self._max_pending:
            self._refused += 1
            self._refused_need = deliveries
            raise Overloaded(
                f"{self._pending} deliveries are pending, the limit is {self._max_pending}"
                " (limits.max_pending); try again once they have drained",
                retry_after=OVERLOADED_RETRY_AFTER,
            )
        self._refused_need = 0

    def _backpressure(self) -> str | None:
        """Why events are refused now, or None: the latest refused event still would not fit."""
        limit = self._max_pending
        if limit is None or not self._refused_need or self._pending + self._refused_need <= limit:
            return None
        return f"ingestion refused: {self._pending} deliveries pending, limit {limit} (limits.max_pending)"
