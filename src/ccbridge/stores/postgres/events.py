"""The `EventLog` and `IdempotencyRecords` ports on PostgreSQL, as a mixin of `PostgresStore`.

Appends go through the store's group committer (`batching.py`): `_append_batch` writes every queued
event with its idempotency check, routing and deliveries in one transaction and a fixed number of
statements, and a caller returns only after that COMMIT (the 2xx promise). The transaction first
brings the compiled subscriptions up to the committed `subscriptions_version`, so an event is never
routed with subscriptions older than those committed before its request began. A key another replica
committed first is answered with the stored event (`created` False). Deliveries written `NOTIFY` the
other replicas' dispatchers in the same statement.

`_write_idempotent` is the writing half of `IdempotencyRecords`: callers run it on their own
connection so the record commits with the change it answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from ccbridge.core.event import EndpointSpec, Event
from ccbridge.core.ports import AppendResult, IdempotentRecord, Router
from ccbridge.core.times import IDEMPOTENCY_WINDOW
from ccbridge.errors import Unavailable
from ccbridge.stores import records
from ccbridge.stores.postgres.answers import UNAVAILABLE_RETRY_AFTER
from ccbridge.stores.postgres.mixin import PostgresMixin

if TYPE_CHECKING:
    from ccbridge.stores.postgres.batching import GroupCommitter

_EVENT_COLUMNS = records.EVENT_COLUMNS


class PostgresEvents(PostgresMixin):
    """Appends and reads of events, and idempotency records; mixed into `PostgresStore`."""

    if TYPE_CHECKING:  # the store's own, and the subscription and admission mixins'
        _appender: GroupCommitter[tuple[Event, float], AppendResult] | None
        _router: Router
        _max_pending: int | None

        async def _sync_subscriptions(self, conn: Any, version: int | None = None) -> None: ...

        async def _count_pending_locked(self, conn: Any) -> int: ...

        def _admit(self, pending: int, deliveries: int) -> None: ...

    async def append_event(self, event: Event) -> AppendResult:
        if self._appender is None:
            raise Unavailable("the store is not open", retry_after=UNAVAILABLE_RETRY_AFTER)
        result = await self._appender.submit((event, self._now()))
        if result.deliveries:
            self._notify()
        return result

    async def _append_batch(self, items: Sequence[tuple[Event, float]]) -> list[AppendResult | Exception]:
        """The group commit's job: every event of `items` (with the time it was submitted), its
        idempotency check, routing and deliveries, in one transaction and a fixed number of statements."""
        results: list[AppendResult | Exception | None] = [None] * len(items)
        keys = [e.idempotency_key for e, _ in items if e.idempotency_key is not None]
        async with self._conn(write=True) as conn:
            await self._sync_subscriptions(conn)
            known: dict[str, tuple[Event, float]] = {}
            if keys:
                for row in await conn.fetch(
                    f"SELECT {_EVENT_COLUMNS}, received_ts FROM events WHERE idempotency_key = ANY($1::text[])",
                    keys,
                ):
                    known[row[8]] = (records.event_from_row(tuple(row[:10])), row[10])
            expired: list[str] = []
            fresh: list[tuple[int, Event, float, list[tuple[str, EndpointSpec]]]] = []
            pending: int | None = None
            for i, (event, now) in enumerate(items):
                key = event.idempotency_key
                if key is not None and key in known:
                    original, received = known[key]
                    if now - received < IDEMPOTENCY_WINDOW:
                        results[i] = AppendResult(original, created=False)
                        continue
                    expired.append(key)
                try:
                    targets = self._router.route(event)
                    if targets and self._max_pending is not None:
                        if pending is None:
                            pending = await self._count_pending_locked(conn)
                        self._admit(pending, len(targets))
                        pending += len(targets)
                except Exception as exc:
                    results[i] = exc
                    continue
                fresh.append((i, event, now, targets))
                if key is not None:
                    known[key] = (event, now)  # a repeat later in this batch answers this event
            if expired:
                await conn.execute(
                    "UPDATE events SET idempotency_key = NULL WHERE idempotency_key = ANY($1::text[])",
                    expired,
                )
            inserted: set[str] = set()
            if fresh:
                columns = list(zip(*(records.event_params(e) for _, e, _, _ in fresh), strict=True))
                rows = await conn.fetch(
                    f"INSERT INTO events({_EVENT_COLUMNS}, received_ts) SELECT * FROM unnest($1::text[],"
                    " $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],"
                    " $9::text[], $10::text[], $11::float8[]) ON CONFLICT DO NOTHING RETURNING id",
                    *[list(c) for c in columns],
                    [now for _, _, now, _ in fresh],
                )
                inserted = {r[0] for r in rows}
            deliveries: list[tuple[str, str, EndpointSpec, float]] = []
            for i, event, now, targets in fresh:
                if event.id in inserted:
                    results[i] = AppendResult(event, created=True, deliveries=len(targets))
                    deliveries.extend((event.id, sub_id, ep, now) for sub_id, ep in targets)
                    continue
                # another replica committed this key first (or the id exists): answer what is stored
                row = await conn.fetchrow(
                    f"SELECT {_EVENT_COLUMNS} FROM events WHERE idempotency_key = $1 OR id = $2 LIMIT 1",
                    event.idempotency_key,
                    event.id,
                )
                results[i] = AppendResult(records.event_from_row(tuple(row)), created=False)
            if deliveries:
                await conn.execute(
                    "WITH ins AS (INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type,"
                    " next_attempt_at, created_ts, updated_ts) SELECT e, s, u, t, n, n, n FROM"
                    " unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[]) AS x(e, s, u, t, n)"
                    " RETURNING 1) SELECT (SELECT count(*) FROM ins), pg_notify($6, $7)",
                    [d[0] for d in deliveries],
                    [d[1] for d in deliveries],
                    [d[2].url for d in deliveries],
                    [d[2].type for d in deliveries],
                    [d[3] for d in deliveries],
                    self._channel,
                    self._instance,
                )
        return [r if r is not None else Unavailable("not written") for r in results]

    async def get_event(self, event_id: str) -> Event | None:
        async with self._conn() as conn:
            row = await conn.fetchrow(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = $1", event_id)
        return None if row is None else records.event_from_row(tuple(row))

    async def count_events(self) -> int:
        async with self._conn() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM events"))

    @staticmethod
    async def _write_idempotent(conn: Any, idem: IdempotentRecord | None) -> None:
        if idem is not None:
            await conn.execute(
                "INSERT INTO idempotency(scope, key, body_hash, status, response, created_ts)"
                " VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (scope, key) DO UPDATE SET body_hash = excluded.body_hash,"
                " status = excluded.status, response = excluded.response, created_ts = excluded.created_ts",
                idem.scope,
                idem.key,
                idem.body_hash,
                idem.status,
                records.dumps(idem.response),
                idem.created_at,
            )

    async def get_idempotent(
        self, scope: str, key: str, max_age: float = IDEMPOTENCY_WINDOW
    ) -> IdempotentRecord | None:
        async with self._conn() as conn:
            row = await conn.fetchrow(
                "SELECT body_hash, status, response, created_ts FROM idempotency WHERE scope = $1 AND key = $2",
                scope,
                key,
            )
        if row is None or self._now() - row[3] > max_age:
            return None
        return IdempotentRecord(scope, key, row[0], row[1], orjson.loads(row[2]), row[3])
