"""The `DeadLetterStore` port on PostgreSQL (list, show, replay, purge), as a mixin of `PostgresStore`.

A dead letter is a delivery row in state `dead`, kept with its event. Replay re-queues it due now
with the attempt count reset, in one statement, and only while its subscription exists, so replaying
twice (or replaying a live delivery) does nothing more; a replay that re-queued anything `NOTIFY`s
the other replicas' dispatchers and wakes this one's. Removing chosen letters is `deadletter_removal.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccbridge.core.ports import DeadLetter
from ccbridge.stores import records
from ccbridge.stores.postgres.answers import rowcount
from ccbridge.stores.postgres.mixin import PostgresMixin

_E_COLUMNS = records.EVENT_COLUMNS_OF_E


class PostgresDeadLetters(PostgresMixin):
    """Dead letters; mixed into `PostgresStore`, whose pool, clock and channels it uses."""

    async def list_dead_letters(
        self, subscription_id: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        async with self._conn() as conn:
            rows = await conn.fetch(
                f"SELECT {records.DEAD_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"
                " WHERE d.state = 'dead' AND ($1::text IS NULL OR d.subscription_id = $1)"
                " ORDER BY d.dead_ts DESC, d.id DESC LIMIT $2",
                subscription_id,
                limit,
            )
        return [records.dead_letter_from_row(r) for r in rows]

    async def get_dead_letter(self, delivery_id: int) -> DeadLetter | None:
        async with self._conn() as conn:
            row = await conn.fetchrow(
                f"SELECT {records.DEAD_COLUMNS}, {_E_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"
                " WHERE d.state = 'dead' AND d.id = $1",
                delivery_id,
            )
        if row is None:
            return None
        return records.dead_letter_from_row(row, records.event_from_row(tuple(row[11:])).document())

    async def replay_dead_letters(
        self, ids: Sequence[int] | None = None, subscription_id: str | None = None
    ) -> int:
        """Re-queue dead letters with the attempt count reset; replaying a live delivery does nothing."""
        now = self._now()
        async with self._conn(write=True) as conn:
            status = await conn.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, dead_ts = NULL,"
                " lease_owner = NULL, lease_until = NULL, updated_ts = $1 WHERE state = 'dead'"
                " AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))"
                " AND ($3::text IS NULL OR subscription_id = $3)"
                " AND subscription_id IN (SELECT id FROM subscriptions)",
                now,
                None if ids is None else list(ids),
                subscription_id,
            )
            replayed = rowcount(status)
            if replayed:
                await conn.execute("SELECT pg_notify($1, $2)", self._channel, self._instance)
        if replayed:
            self._notify()
        return replayed

    async def purge_dead_letters(self, older_than: float | None = None) -> int:
        """Delete dead letters that died before `older_than` (epoch s); None purges them all."""
        async with self._conn(write=True) as conn:
            status = await conn.execute(
                "DELETE FROM deliveries WHERE state = 'dead' AND ($1::float8 IS NULL OR dead_ts < $1)",
                older_than,
            )
        return rowcount(status)
