"""The `DeliveryHistory` and `ReplayJobs` ports on SQLite, as a mixin of `SqliteStore`.

Reads run on the store's reader thread; retries and replay steps are writer jobs, so they commit in
the writer's group commit like every other write. `record_attempts` is the settlement's hook: it runs
inside the settle job, before the settling UPDATEs, and records exactly the settlements whose lease is
still held (the same `id = ? AND lease_owner = ?` the UPDATEs apply).
"""

from __future__ import annotations

import sqlite3
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
from ccbridge.stores.sqlite.mixin import SqliteMixin

_RECORD = hr.ATTEMPT_INSERT + (
    " SELECT id, ?, ?, endpoint_url, endpoint_type, ?, ?, ?, ?, ?, ? FROM deliveries WHERE id = ? AND lease_owner = ?"
)
_EVENT_ROW = f"{records.EVENT_COLUMNS}, received_ts, seq"
_JOIN = "deliveries d LEFT JOIN events e ON e.id = d.event_id"


def record_attempts(
    conn: sqlite3.Connection, owner: str, settlements: Sequence[Settlement], now: float
) -> None:
    """One attempt row per settlement `owner` still holds the lease of (call before settling)."""
    conn.executemany(_RECORD, [(*hr.attempt_params(s, now), s.delivery_id, owner) for s in settlements])


class SqliteHistory(SqliteMixin):
    """Delivery history and replay jobs; mixed into `SqliteStore`, whose writer, reader and clock it uses."""

    if TYPE_CHECKING:  # the event mixin's

        def _write_idempotent(self, conn: sqlite3.Connection, idem: IdempotentRecord | None) -> None: ...

    # --- events and deliveries -------------------------------------------------------------------

    async def search_events(self, query: EventQuery) -> EventPage:
        where, params = ["1 = 1"], list[Any]()
        if query.cursor is not None:
            where.append("seq < ?")
            params.append(query.cursor)
        if query.type is not None:
            where.append("type = ?")
            params.append(query.type)
        if query.from_ts is not None:
            where.append("received_ts >= ?")
            params.append(query.from_ts)
        if query.to_ts is not None:
            where.append("received_ts < ?")
            params.append(query.to_ts)
        if query.subscription_id is not None:
            where.append(
                "EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.subscription_id = ?)"
            )
            params.append(query.subscription_id)
        sql = f"SELECT {_EVENT_ROW} FROM events WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?"

        def job(conn: sqlite3.Connection) -> EventPage:
            rows = conn.execute(sql, (*params, query.limit + 1)).fetchall()
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            counts = _delivery_counts(conn, [r[0] for r in rows])
            items = [
                EventRecord(records.event_from_row(r[:10]), float(r[10]), counts.get(r[0], {})) for r in rows
            ]
            return EventPage(items, int(rows[-1][11]) if more else None)

        return await self._reader.submit(job)

    async def event_with_deliveries(self, event_id: str) -> tuple[EventRecord, list[DeliveryRecord]] | None:
        def job(conn: sqlite3.Connection) -> tuple[EventRecord, list[DeliveryRecord]] | None:
            row = conn.execute(f"SELECT {_EVENT_ROW} FROM events WHERE id = ?", (event_id,)).fetchone()
            if row is None:
                return None
            deliveries = [
                hr.delivery_from_row(r)
                for r in conn.execute(
                    f"SELECT {hr.DELIVERY_COLUMNS} FROM {_JOIN} WHERE d.event_id = ? ORDER BY d.id",
                    (event_id,),
                )
            ]
            counts = _delivery_counts(conn, [event_id]).get(event_id, {})
            return EventRecord(records.event_from_row(row[:10]), float(row[10]), counts), deliveries

        return await self._reader.submit(job)

    async def list_deliveries(self, query: DeliveryQuery) -> DeliveryPage:
        where, params = ["d.subscription_id = ?"], list[Any]([query.subscription_id])
        if query.cursor is not None:
            where.append("d.id < ?")
            params.append(query.cursor)
        if query.status is not None:
            where.append(hr.STATUS_SQL[query.status])
        if query.from_ts is not None:
            where.append("d.created_ts >= ?")
            params.append(query.from_ts)
        if query.to_ts is not None:
            where.append("d.created_ts < ?")
            params.append(query.to_ts)
        sql = f"SELECT {hr.DELIVERY_COLUMNS} FROM {_JOIN} WHERE {' AND '.join(where)} ORDER BY d.id DESC LIMIT ?"

        def job(conn: sqlite3.Connection) -> DeliveryPage:
            rows = conn.execute(sql, (*params, query.limit + 1)).fetchall()
            items = [hr.delivery_from_row(r) for r in rows[: query.limit]]
            return DeliveryPage(items, items[-1].id if len(rows) > query.limit else None)

        return await self._reader.submit(job)

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        return await self._reader.submit(lambda conn: _delivery(conn, delivery_id))

    async def delivery_attempts(self, delivery_id: int) -> list[AttemptRecord] | None:
        def job(conn: sqlite3.Connection) -> list[AttemptRecord] | None:
            if conn.execute("SELECT 1 FROM deliveries WHERE id = ?", (delivery_id,)).fetchone() is None:
                return None
            rows = conn.execute(
                f"SELECT {hr.ATTEMPT_COLUMNS} FROM delivery_attempts a WHERE a.delivery_id = ? ORDER BY a.id",
                (delivery_id,),
            )
            return [hr.attempt_from_row(r) for r in rows]

        return await self._reader.submit(job)

    async def retry_delivery(self, delivery_id: int) -> DeliveryRecord:
        now = self._now()

        def job(conn: sqlite3.Connection) -> DeliveryRecord:
            row = conn.execute(
                "SELECT d.state, s.id FROM deliveries d LEFT JOIN subscriptions s ON s.id = d.subscription_id"
                " WHERE d.id = ?",
                (delivery_id,),
            ).fetchone()
            hr.check_retry(delivery_id, row)
            conn.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, dead_ts = NULL,"
                " lease_owner = NULL, lease_until = NULL, updated_ts = ? WHERE id = ?",
                (now, now, delivery_id),
            )
            self._pending += 1
            record = _delivery(conn, delivery_id)
            assert record is not None  # updated just now, in this transaction
            return record

        record = await self._writer.submit(job)
        self._notify()
        return record

    # --- replay jobs -----------------------------------------------------------------------------

    async def create_replay(
        self, job_id: str, spec: ReplaySpec, idem: IdempotentRecord | None = None
    ) -> ReplayJob:
        now = self._now()

        def job(conn: sqlite3.Connection) -> ReplayJob:
            (total,) = conn.execute(
                "SELECT count(*) FROM events WHERE received_ts >= ? AND received_ts < ?",
                (spec.from_ts, spec.to_ts),
            ).fetchone()
            conn.execute(
                "INSERT INTO replay_jobs(id, spec, state, total, created_ts, updated_ts) VALUES (?,?,'queued',?,?,?)",
                (job_id, hr.spec_to_doc(spec), total, now, now),
            )
            self._write_idempotent(conn, idem)
            return ReplayJob(job_id, spec, "queued", int(total), created_at=now, updated_at=now)

        return await self._writer.submit(job)

    async def get_replay(self, job_id: str) -> ReplayJob | None:
        return await self._reader.submit(lambda conn: _replay(conn, job_id))

    async def list_replays(self, limit: int = 100) -> list[ReplayJob]:
        def job(conn: sqlite3.Connection) -> list[ReplayJob]:
            rows = conn.execute(
                f"SELECT {hr.REPLAY_COLUMNS} FROM replay_jobs ORDER BY created_ts DESC, id DESC LIMIT ?",
                (limit,),
            )
            return [hr.replay_from_row(r) for r in rows]

        return await self._reader.submit(job)

    async def claim_replay(self, owner: str, lease_seconds: float) -> ReplayJob | None:
        now = self._now()

        def job(conn: sqlite3.Connection) -> ReplayJob | None:
            row = conn.execute(
                "UPDATE replay_jobs SET state = 'running', lease_owner = ?, lease_until = ?, updated_ts = ?"
                " WHERE id = (SELECT id FROM replay_jobs WHERE state = 'queued' OR (state = 'running'"
                " AND (lease_until IS NULL OR lease_until < ?)) ORDER BY created_ts, id LIMIT 1)"
                f" RETURNING {hr.REPLAY_COLUMNS}",
                (owner, now + lease_seconds, now, now),
            ).fetchone()
            return None if row is None else hr.replay_from_row(row)

        return await self._writer.submit(job)

    async def replay_step(
        self, job_id: str, owner: str, route: ReplayRoute, limit: int, lease_seconds: float
    ) -> ReplayJob | None:
        now = self._now()

        def job(conn: sqlite3.Connection) -> tuple[ReplayJob | None, int]:
            held = conn.execute(
                "SELECT position FROM replay_jobs WHERE id = ? AND lease_owner = ? AND state = 'running'",
                (job_id, owner),
            ).fetchone()
            current = _replay(conn, job_id)
            if held is None or current is None:
                return None, 0
            spec = current.spec
            rows = conn.execute(
                f"SELECT {_EVENT_ROW} FROM events WHERE seq > ? AND received_ts >= ? AND received_ts < ?"
                " ORDER BY seq LIMIT ?",
                (held[0], spec.from_ts, spec.to_ts, limit),
            ).fetchall()
            matched = enqueued = skipped = 0
            for row in rows:
                event = records.event_from_row(row[:10])
                targets = route(event)
                matched += bool(targets)
                for sub_id, endpoint in targets:
                    if spec.dry_run:
                        enqueued += 1
                    elif conn.execute(
                        "INSERT OR IGNORE INTO replay_marks(job_id, event_id, subscription_id, endpoint_url)"
                        " VALUES (?,?,?,?)",
                        (job_id, event.id, sub_id, endpoint.url),
                    ).rowcount:
                        conn.execute(
                            "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type,"
                            " next_attempt_at, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?)",
                            (event.id, sub_id, endpoint.url, endpoint.type, now, now, now),
                        )
                        enqueued += 1
                    else:
                        skipped += 1
            done = len(rows) < limit
            position = int(rows[-1][11]) if rows else held[0]
            conn.execute(
                "UPDATE replay_jobs SET scanned = scanned + ?, matched = matched + ?, enqueued = enqueued + ?,"
                " skipped = skipped + ?, position = ?, lease_until = ?, updated_ts = ?, state = ?,"
                " finished_ts = ?, lease_owner = CASE WHEN ? THEN NULL ELSE lease_owner END WHERE id = ?",
                (
                    len(rows),
                    matched,
                    enqueued,
                    skipped,
                    position,
                    now + lease_seconds,
                    now,
                    "succeeded" if done else "running",
                    now if done else None,
                    done,
                    job_id,
                ),
            )
            queued = 0 if spec.dry_run else enqueued
            self._pending += queued
            return _replay(conn, job_id), queued

        result, queued = await self._writer.submit(job)
        if queued:
            self._notify()
        return result

    async def fail_replay(self, job_id: str, owner: str, error: str) -> None:
        now = self._now()
        await self._writer.submit(
            lambda conn: conn.execute(
                "UPDATE replay_jobs SET state = 'failed', error = ?, finished_ts = ?, updated_ts = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ? AND state = 'running'",
                (error, now, now, job_id, owner),
            )
        )


def _delivery_counts(conn: sqlite3.Connection, event_ids: list[str]) -> dict[str, dict[str, int]]:
    if not event_ids:
        return {}
    rows = conn.execute(
        "SELECT event_id, state, attempts > 0, count(*) FROM deliveries WHERE kind = 'event'"
        f" AND event_id IN ({','.join('?' * len(event_ids))}) GROUP BY 1, 2, 3",
        event_ids,
    )
    return hr.count_statuses(rows)


def _delivery(conn: sqlite3.Connection, delivery_id: int) -> DeliveryRecord | None:
    row = conn.execute(f"SELECT {hr.DELIVERY_COLUMNS} FROM {_JOIN} WHERE d.id = ?", (delivery_id,)).fetchone()
    return None if row is None else hr.delivery_from_row(row)


def _replay(conn: sqlite3.Connection, job_id: str) -> ReplayJob | None:
    row = conn.execute(f"SELECT {hr.REPLAY_COLUMNS} FROM replay_jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else hr.replay_from_row(row)
