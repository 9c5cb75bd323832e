"""The `RateLimits` port on PostgreSQL: one `rate_tokens` row per key (migration 50).

An admission is one statement outside an explicit transaction (one round trip): an upsert whose
`ON CONFLICT DO UPDATE ... WHERE` is `core.rate_limit.take_token`'s rule in SQL, with the same
float8 arithmetic, so it moves `tat` only when the request is admitted and returns the row then.
PostgreSQL locks the conflicting row for the update, so replicas racing on one key are serialized on
that row only. No row back means refused; only then a second statement reads `tat` to say how long
to wait (`tat` only ever grows, so a read after the refusal can only make the wait longer, never
turn the refusal into an admission).

Asynchronous commit: the statement sets `synchronous_commit = off` for its own (implicit)
transaction, so its commit does not wait for the WAL flush. Why: every admission of one key is
serialized on that key's row lock, which is held until commit, so waiting for a flush each time
would cap one subject at one request per flush (measured: about half the ingest rate). What that
gives up: a database crash may forget the admissions of its last fraction of a second (letting
their subjects that many requests again), never a refusal; and an admission followed by a stored
event is durable anyway, since the event's commit flushes the WAL up to it."""

from __future__ import annotations

from ccbridge.core.rate_limit import SLACK, interval, limit, take_token
from ccbridge.stores.postgres.mixin import PostgresMixin

_TAKE = (
    "INSERT INTO rate_tokens AS r (key, tat)"
    " SELECT $1, $2::float8 + $3::float8 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"
    " ON CONFLICT (key) DO UPDATE SET tat = greatest(r.tat, $2::float8) + $3::float8"
    " WHERE greatest(r.tat, $2::float8) - $2::float8 <= $4::float8"
    " RETURNING r.tat"
)


class PostgresRateLimits(PostgresMixin):
    """Mixed into `PostgresStore`, whose pool (through `_conn`) and clock it uses."""

    async def take_rate_token(self, key: str, per_second: float, burst: int) -> float:
        if not per_second > 0 or burst < 1:
            raise ValueError("per_second must be > 0 and burst >= 1")
        now = self._now()
        async with self._conn(write=True, transaction=False) as conn:
            if (
                await conn.fetchval(_TAKE, key, now, interval(per_second), limit(per_second, burst))
                is not None
            ):
                return 0.0
            stored = await conn.fetchval("SELECT tat FROM rate_tokens WHERE key = $1", key)
        _, wait = take_token(None if stored is None else float(stored), now, per_second, burst)
        return wait if wait > 0 else SLACK  # refused above: never answer "admitted" without a write
