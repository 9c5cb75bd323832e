"""The `DeliveryHistory` and `ReplayJobs` ports on PostgreSQL, as a mixin of `PostgresStore`.

`record_attempts` is the settlement's hook: one statement inside the settle transaction, before the
settling UPDATEs, recording exactly the settlements whose lease `owner` still holds. Replay steps lock
their job row (`FOR UPDATE`), so two replicas never run the same job's step at once; the marks'
primary key holds the one-delivery-per-(job, event, subscription, endpoint) rule whatever happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ccbridge.core.ports import (
    AttemptRecord,
    DeliveryPage,
    DeliveryQuery,
    DeliveryRecord,
    EventPage,
    EventQuery,
    EventRecord,
    IdempotentRecord,
    ReplayJob,
    ReplayRoute,
    ReplaySpec,
    Settlement,
)
from ccbridge.stores import history_records as hr
from ccbridge.stores import records
from ccbridge.stores.postgres.mixin import PostgresMixin

_EVENT_ROW = f"{records.EVENT_COLUMNS}, received_ts, seq"
_JOIN = "deliveries d LEFT JOIN events e ON e.id = d.event_id"


async def record_attempts(conn: Any, owner: str, settlements: Sequence[Settlement], now: float) -> None:
    """One attempt row per settlement `owner` still holds the lease of (call before settling)."""
    if not settlements:
        return
    columns = list(zip(*(hr.attempt_params(s, now) for s in settlements), strict=True))
    await conn.execute(
        hr.ATTEMPT_INSERT
        + " SELECT d.id, s.attempt, s.at, d.endpoint_url, d.endpoint_type, s.outcome, s.status, s.latency,"
        " s.body, s.error, s.error_class FROM unnest($1::bigint[], $2::integer[], $3::float8[], $4::text[],"
        " $5::integer[], $6::float8[], $7::text[], $8::text[], $9::text[])"
        " AS s(id, attempt, at, outcome, status, latency, body, error, error_class)"
        " JOIN deliveries d ON d.id = s.id AND d.lease_owner = $10",
        [s.delivery_id for s in settlements],
        *(list(c) for c in columns),
        owner,
    )


class PostgresHistory(PostgresMixin):
    """Delivery history and replay jobs; mixed into `PostgresStore`, whose pool, clock and channels it uses."""

    if TYPE_CHECKING:  # the event mixin's

        @staticmethod
        async def _write_idempotent(conn: Any, idem: IdempotentRecord | None) -> None: ...

    # --- events and deliveries -------------------------------------------------------------------

    async def search_events(self, query: EventQuery) -> EventPage:
        async with self._conn() as conn:
            rows = await conn.fetch(
                f"SELECT {_EVENT_ROW} FROM events WHERE ($1::bigint IS NULL OR seq < $1)"
                " AND ($2::text IS NULL OR type = $2) AND ($3::float8 IS NULL OR received_ts >= $3)"
                " AND ($4::float8 IS NULL OR received_ts < $4) AND ($5::text IS NULL OR EXISTS"
                " (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.subscription_id = $5))"
                " ORDER BY seq DESC LIMIT $6",
                query.cursor,
                query.type,
                query.from_ts,
                query.to_ts,
                query.subscription_id,
                query.limit + 1,
            )
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            counts = await _delivery_counts(conn, [r[0] for r in rows])
        items = [
            EventRecord(records.event_from_row(tuple(r[:10])), float(r[10]), counts.get(r[0], {}))
            for r in rows
        ]
        return EventPage(items, int(rows[-1][11]) if more else None)

    async def event_with_deliveries(self, event_id: str) -> tuple[EventRecord, list[DeliveryRecord]] | None:
        async with self._conn() as conn:
            row = await conn.fetchrow(f"SELECT {_EVENT_ROW} FROM events WHERE id = $1", event_id)
            if row is None:
                return None
            deliveries = await conn.fetch(
                f"SELECT {hr.DELIVERY_COLUMNS} FROM {_JOIN} WHERE d.event_id = $1 ORDER BY d.id", event_id
            )
            counts = (await _delivery_counts(conn, [event_id])).get(event_id, {})
        record = EventRecord(records.event_from_row(tuple(row[:10])), float(row[10]), counts)
        return record, [hr.delivery_from_row(r) for r in deliveries]

    async def list_deliveries(self, query: DeliveryQuery) -> DeliveryPage:
        status = "" if query.status is None else f" AND {hr.STATUS_SQL[query.status]}"
        async with self._conn() as conn:
            rows = await conn.fetch(
                f"SELECT {hr.DELIVERY_COLUMNS} FROM {_JOIN} WHERE d.subscription_id = $1"
                " AND ($2::bigint IS NULL OR d.id < $2) AND ($3::float8 IS NULL OR d.created_ts >= $3)"
                f" AND ($4::float8 IS NULL OR d.created_ts < $4){status} ORDER BY d.id DESC LIMIT $5",
                query.subscription_id,
                query.cursor,
                query.from_ts,
                query.to_ts,
                query.limit + 1,
            )
        items = [hr.delivery_from_row(r) for r in rows[: query.limit]]
        return DeliveryPage(items, items[-1].id if len(rows) > query.limit else None)

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        async with self._conn() as conn:
            return await _delivery(conn, delivery_id)

    async def delivery_attempts(self, delivery_id: int) -> list[AttemptRecord] | None:
        async with self._conn() as conn:
            if await conn.fetchval("SELECT 1 FROM deliveries WHERE id = $1", delivery_id) is None:
                return None
            rows = await conn.fetch(
                f"SELECT {hr.ATTEMPT_COLUMNS} FROM delivery_attempts a WHERE a.delivery_id = $1 ORDER BY a.id",
                delivery_id,
            )
        return [hr.attempt_from_row(tuple(r)) for r in rows]

    async def retry_delivery(self, delivery_id: int) -> DeliveryRecord:
        now = self._now()
        async with self._conn(write=True) as conn:
            row = await conn.fetchrow(
                "SELECT d.state, s.id FROM deliveries d LEFT JOIN subscriptions s ON s.id = d.subscription_id"
                " WHERE d.id = $1 FOR UPDATE OF d",
                delivery_id,
            )
            hr.check_retry(delivery_id, row)
            await conn.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, dead_ts = NULL,"
                " lease_owner = NULL, lease_until = NULL, updated_ts = $1 WHERE id = $2",
                now,
                delivery_id,
            )
            await conn.execute("SELECT pg_notify($1, $2)", self._channel, self._instance)
            record = await _delivery(conn, delivery_id)
        self._notify()
        assert record is not None  # updated just now, in this transaction
        return record

    # --- replay jobs -----------------------------------------------------------------------------

    async def create_replay(
        self, job_id: str, spec: ReplaySpec, idem: IdempotentRecord | None = None
    ) -> ReplayJob:
        now = self._now()
        async with self._conn(write=True) as conn:
            total = await conn.fetchval(
                "SELECT count(*) FROM events WHERE received_ts >= $1 AND received_ts < $2",
                spec.from_ts,
                spec.to_ts,
            )
            await conn.execute(
                "INSERT INTO replay_jobs(id, spec, state, total, created_ts, updated_ts)"
                " VALUES ($1, $2, 'queued', $3, $4, $4)",
                job_id,
                hr.spec_to_doc(spec),
                total,
                now,
            )
            await self._write_idempotent(conn, idem)
        return ReplayJob(job_id, spec, "queued", int(total), created_at=now, updated_at=now)

    async def get_replay(self, job_id: str) -> ReplayJob | None:
        async with self._conn() as conn:
            return await _replay(conn, job_id)

    async def list_replays(self, limit: int = 100) -> list[ReplayJob]:
        async with self._conn() as conn:
            rows = await conn.fetch(
                f"SELECT {hr.REPLAY_COLUMNS} FROM replay_jobs ORDER BY created_ts DESC, id DESC LIMIT $1",
                limit,
            )
        return [hr.replay_from_row(tuple(r)) for r in rows]

    async def claim_replay(self, owner: str, lease_seconds: float) -> ReplayJob | None:
        now = self._now()
        async with self._conn(write=True) as conn:
            row = await conn.fetchrow(
                "UPDATE replay_jobs SET state = 'running', lease_owner = $1, lease_until = $2, updated_ts = $3"
                " WHERE id = (SELECT id FROM replay_jobs WHERE state = 'queued' OR (state = 'running'"
                " AND (lease_until IS NULL OR lease_until < $3)) ORDER BY created_ts, id LIMIT 1"
                f" FOR UPDATE SKIP LOCKED) RETURNING {hr.REPLAY_COLUMNS}",
                owner,
                now + lease_seconds,
                now,
            )
        return None if row is None else hr.replay_from_row(tuple(row))

    async def replay_step(
        self, job_id: str, owner: str, route: ReplayRoute, limit: int, lease_seconds: float
    ) -> ReplayJob | None:
        now = self._now()
        async with self._conn(write=True) as conn:
            position = await conn.fetchval(
                "SELECT position FROM replay_jobs WHERE id = $1 AND lease_owner = $2 AND state = 'running'"
                " FOR UPDATE",
                job_id,
                owner,
            )
            current = await _replay(conn, job_id)
            if position is None or current is None:
                return None
            spec = current.spec
            rows = await conn.fetch(
                f"SELECT {_EVENT_ROW} FROM events WHERE seq > $1 AND received_ts >= $2 AND received_ts < $3"
                " ORDER BY seq LIMIT $4",
                position,
                spec.from_ts,
                spec.to_ts,
                limit,
            )
            wanted: list[tuple[str, str, str, str]] = []  # event id, subscription id, url, type
            matched = 0
            for row in rows:
                event = records.event_from_row(tuple(row[:10]))
                targets = route(event)
                matched += bool(targets)
                wanted += [(event.id, sub_id, ep.url, ep.type) for sub_id, ep in targets]
            enqueued, skipped = len(wanted), 0
            if wanted and not spec.dry_run:
                enqueued = await _enqueue_once(conn, job_id, wanted, now)
                skipped = len(wanted) - enqueued
                if enqueued:
                    await conn.execute("SELECT pg_notify($1, $2)", self._channel, self._instance)
            done = len(rows) < limit
            await conn.execute(
                "UPDATE replay_jobs SET scanned = scanned + $1, matched = matched + $2, enqueued = enqueued + $3,"
                " skipped = skipped + $4, position = $5, lease_until = $6, updated_ts = $7, state = $8,"
                " finished_ts = $9, lease_owner = CASE WHEN $10 THEN NULL ELSE lease_owner END WHERE id = $11",
                len(rows),
                matched,
                enqueued,
                skipped,
                int(rows[-1][11]) if rows else position,
                now + lease_seconds,
                now,
                "succeeded" if done else "running",
                now if done else None,
                done,
                job_id,
            )
            result = await _replay(conn, job_id)
        if enqueued and not spec.dry_run:
            self._notify()
        return result

    async def fail_replay(self, job_id: str, owner: str, error: str) -> None:
        now = self._now()
        async with self._conn(write=True) as conn:
            await conn.execute(
                "UPDATE replay_jobs SET state = 'failed', error = $1, finished_ts = $2, updated_ts = $2,"
                " lease_owner = NULL, lease_until = NULL WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
                error,
                now,
                job_id,
                owner,
            )


async def _enqueue_once(conn: Any, job_id: str, wanted: list[tuple[str, str, str, str]], now: float) -> int:
    """Queue a delivery for each (event, subscription, url, type) this job has not queued yet; returns
    how many it queued. The mark and its delivery commit together (one transaction)."""
    events, subs, urls, _ = (list(c) for c in zip(*wanted, strict=True))
    fresh = await conn.fetch(
        "INSERT INTO replay_marks(job_id, event_id, subscription_id, endpoint_url)"
        " SELECT $1, w.e, w.s, w.u FROM unnest($2::text[], $3::text[], $4::text[]) AS w(e, s, u)"
        " ON CONFLICT DO NOTHING RETURNING event_id, subscription_id, endpoint_url",
        job_id,
        events,
        subs,
        urls,
    )
    kinds = {(e, s, u): t for e, s, u, t in wanted}
    chosen = [(r[0], r[1], r[2], kinds[(r[0], r[1], r[2])]) for r in fresh]
    if chosen:
        e, s, u, t = (list(c) for c in zip(*chosen, strict=True))
        await conn.execute(
            "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type, next_attempt_at,"
            " created_ts, updated_ts) SELECT w.e, w.s, w.u, w.t, $5, $5, $5"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS w(e, s, u, t)",
            e,
            s,
            u,
            t,
            now,
        )
    return len(chosen)


async def _delivery_counts(conn: Any, event_ids: list[str]) -> dict[str, dict[str, int]]:
    if not event_ids:
        return {}
    rows = await conn.fetch(
        "SELECT event_id, state, attempts > 0, count(*) FROM deliveries WHERE kind = 'event'"
        " AND event_id = ANY($1::text[]) GROUP BY 1, 2, 3",
        event_ids,
    )
    return hr.count_statuses(tuple(r) for r in rows)


async def _delivery(conn: Any, delivery_id: int) -> DeliveryRecord | None:
    row = await conn.fetchrow(f"SELECT {hr.DELIVERY_COLUMNS} FROM {_JOIN} WHERE d.id = $1", delivery_id)
    return None if row is None else hr.delivery_from_row(tuple(row))


async def _replay(conn: Any, job_id: str) -> ReplayJob | None:
    row = await conn.fetchrow(f"SELECT {hr.REPLAY_COLUMNS} FROM replay_jobs WHERE id = $1", job_id)
    return None if row is None else hr.replay_from_row(tuple(row))
