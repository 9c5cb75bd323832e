"""The `DeadLetterStore` port on SQLite (list, show, replay, purge), as a mixin of `SqliteStore`.

A dead letter is a delivery row in state `dead`, kept with its event. Listing and showing run on the
reader thread; replay and purge are writer jobs. Replay re-queues letters due now with the attempt
count reset, only while their subscription exists, so replaying twice (or replaying a live
delivery) does nothing more; what it re-queues counts towards `_pending` and wakes the dispatcher.
Removing chosen letters is `deadletter_removal.py`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ccbridge.core.ports import DeadLetter
from ccbridge.stores import records
from ccbridge.stores.sqlite.mixin import SqliteMixin


class SqliteDeadLetters(SqliteMixin):
    """Dead letters; mixed into `SqliteStore`, whose writer, reader and clock it uses."""

    async def list_dead_letters(
        self, subscription_id: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        def job(conn: sqlite3.Connection) -> list[DeadLetter]:
            where = "d.state = 'dead'" + (" AND d.subscription_id = ?" if subscription_id else "")
            params: tuple[Any, ...] = (subscription_id, limit) if subscription_id else (limit,)
            rows = conn.execute(
                f"SELECT {records.DEAD_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"
                f" WHERE {where} ORDER BY d.dead_ts DESC, d.id DESC LIMIT ?",
                params,
            ).fetchall()
            return [records.dead_letter_from_row(r) for r in rows]

        return await self._reader.submit(job)

    async def get_dead_letter(self, delivery_id: int) -> DeadLetter | None:
        def job(conn: sqlite3.Connection) -> DeadLetter | None:
            row = conn.execute(
                f"SELECT {records.DEAD_COLUMNS}, {records.EVENT_COLUMNS_OF_E}"
                " FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.state = 'dead' AND d.id = ?",
                (delivery_id,),
            ).fetchone()
            if row is None:
                return None
            return records.dead_letter_from_row(row, records.event_from_row(row[11:]).document())

        return await self._reader.submit(job)

    async def replay_dead_letters(
        self, ids: Sequence[int] | None = None, subscription_id: str | None = None
    ) -> int:
        """Re-queue dead letters with the attempt count reset; replaying a live delivery does nothing."""
        now = self._now()

        def job(conn: sqlite3.Connection) -> int:
            sql = (
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, dead_ts = NULL,"
                " lease_owner = NULL, lease_until = NULL, updated_ts = ? WHERE state = 'dead'"
            )
            params: list[Any] = [now, now]
            if ids is not None:
                sql += f" AND id IN ({','.join('?' * len(ids))})"
                params.extend(ids)
            if subscription_id is not None:
                sql += " AND subscription_id = ?"
                params.append(subscription_id)
            sql += " AND subscription_id IN (SELECT id FROM subscriptions)"
            replayed: int = conn.execute(sql, params).rowcount
            self._pending += replayed
            return replayed

        replayed = int(await self._writer.submit(job))
        if replayed:
            self._notify()
        return replayed

    async def purge_dead_letters(self, older_than: float | None = None) -> int:
        """Delete dead letters that died before `older_than` (epoch s); None purges them all."""
        cutoff = float("inf") if older_than is None else older_than

        def job(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM deliveries WHERE state = 'dead' AND dead_ts < ?", (cutoff,)
            ).rowcount

        return int(await self._writer.submit(job))
