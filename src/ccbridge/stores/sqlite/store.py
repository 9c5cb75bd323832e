"""The embedded default store: one SQLite file in WAL mode with `synchronous=FULL`.

All writes go through one writer thread with group commit (`sqlite_writer`); reads use a second
connection on their own thread, so a long fsync never blocks a GET. Subscriptions are cached in
memory by the writer, which also owns the router: routing an event and writing its deliveries
happen inside the same transaction as the event itself.

Several processes may share the file (the overlap of a rolling restart, `serve --workers`): every
write batch starts by checking, under the write lock, whether another process changed the
subscriptions, and reloads the cache if so, so an event is always routed with every subscription
committed before it. Leases are rows, so processes never deliver the same due delivery at once.
They share one machine's disk: replicas on several machines need PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from ccbridge.core.event import DeliveryJob, EndpointSpec, Event, Subscription
from ccbridge.core.ports import (
    AppendResult,
    Backlog,
    Clock,
    DeadLetter,
    DeliveryCounts,
    IdempotentRecord,
    Router,
    Settlement,
)
from ccbridge.core.registry import DELETED
from ccbridge.core.times import IDEMPOTENCY_WINDOW, RECENT_WINDOW, SystemClock, iso, iso_or_none
from ccbridge.errors import ConflictError, FieldError, NotFoundError, Overloaded, QuotaExceeded, Unavailable
from ccbridge.stores import records
from ccbridge.stores.sqlite.connector_leases import SqliteConnectorLeases
from ccbridge.stores.sqlite.deadletter_removal import SqliteDeadLetterRemoval
from ccbridge.stores.sqlite.health import SqliteEndpointHealth
from ccbridge.stores.sqlite.history import SqliteHistory, record_attempts
from ccbridge.stores.sqlite.probe import SqliteReadProbe
from ccbridge.stores.sqlite.rate_limits import SqliteRateLimits
from ccbridge.stores.sqlite.registry import SqliteRegistryOutbox
from ccbridge.stores.sqlite.schema import (
    CONNECTOR_SCHEMA,
    HEALTH_SCHEMA,
    HISTORY_SCHEMA,
    RATE_TOKENS_SCHEMA,
    REGISTRY_SCHEMA,
    SCHEMA,
)
from ccbridge.stores.sqlite.writer import SerialExecutor, connect

OVERLOADED_RETRY_AFTER = 5.0  # seconds: a floor for a refused caller's retry


_SETTLE = records.SETTLE_COLUMNS.format(*"?" * 9)


class SqliteStore(
    SqliteDeadLetterRemoval,
    SqliteHistory,
    SqliteRegistryOutbox,
    SqliteEndpointHealth,
    SqliteConnectorLeases,
    SqliteReadProbe,
    SqliteRateLimits,
):
    """The `Store` port on SQLite; `clock` drives every schedule and window, so tests can move time."""

    def __init__(
        self, path: str, router: Router, clock: Clock | None = None, max_pending: int | None = None
    ) -> None:
        self.path = path
        self._router = router
        self._now = (clock or SystemClock()).now
        self._max_pending = max_pending
        # Unsettled deliveries across the file, kept by the writer inside its transactions (counted
        # again only when the file was opened, a batch rolled back or another process committed),
        # so the limit costs no COUNT per append.
        self._pending = 0
        self._refused = 0
        self._refused_need = 0  # deliveries of the latest refused event: refusing while they don't fit
        self._writer = SerialExecutor(
            path,
            "ccbridge-sqlite-writer",
            transactional=True,
            on_rollback=self._reload,
            on_begin=self._follow_other_writers,
        )
        self._reader = SerialExecutor(path, "ccbridge-sqlite-reader", transactional=False)
        self._subs: dict[str, Subscription] = {}
        self._subs_version = 0  # the `subscriptions_version` the cache reflects
        self._data_version: int | None = None  # the writer connection's last PRAGMA data_version
        self._listeners: list[Callable[[], None]] = []
        self._open = False

    # --- lifecycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = connect(self.path)
        try:
            conn.executescript(SCHEMA)
            conn.executescript(HISTORY_SCHEMA)
            conn.executescript(REGISTRY_SCHEMA)
            conn.executescript(HEALTH_SCHEMA)
            conn.executescript(CONNECTOR_SCHEMA)
            conn.executescript(RATE_TOKENS_SCHEMA)
            self._reload(conn)
        finally:
            conn.close()
        self._writer.start()
        self._reader.start()
        self._open = True

    async def close(self) -> None:
        if self._open:
            self._writer.stop()
            self._reader.stop()
            self._open = False

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called on the event loop after a commit that made deliveries due (wakes the dispatcher)."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in self._listeners:
            callback()

    @property
    def stats(self) -> dict[str, int]:
        return {"write_batches": self._writer.batches, "write_jobs": self._writer.jobs}

    def observe_commit_batches(self, observe: Callable[[int], None]) -> None:
        """`observe(n)` after each write transaction of `n` jobs (the writer's group commit)."""
        self._writer.on_batch = observe

    def _reload(self, conn: sqlite3.Connection) -> None:
        """What the writer keeps in memory, read again from the file."""
        self._load_subscriptions(conn)
        self._count_pending(conn)

    def _count_pending(self, conn: sqlite3.Connection) -> None:
        self._pending = int(
            conn.execute("SELECT count(*) FROM deliveries WHERE state = 'pending'").fetchone()[0]
        )

    def _load_subscriptions(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute("SELECT doc FROM subscriptions ORDER BY created_ts").fetchall()
        self._subs_version = _subscriptions_version(conn)
        self._subs = {s.id: s for s in (records.subscription_from_doc(r[0]) for r in rows)}
        self._router.replace(list(self._subs.values()))

    def _follow_other_writers(self, conn: sqlite3.Connection) -> None:
        """Start of every write batch: reload the subscription cache if another process changed them.

        Why: events are routed with the in-memory cache, inside the write transaction. A second process
        on the same file (the overlap of a rolling restart, say) may have created a subscription since;
        routing with the old cache would store the event without the deliveries it causes. This runs
        under the write lock, so what it reads holds for the whole batch. `data_version` changes only
        when another connection committed, so the usual cost is one pragma per batch. The pending
        count is taken again then too, for the same reason.
        """
        data_version = conn.execute("PRAGMA data_version").fetchone()[0]
        if data_version == self._data_version:
            return
        self._data_version = data_version
        if _subscriptions_version(conn) != self._subs_version:
            self._load_subscriptions(conn)
        if self._max_pending is not None:  # another process may have added or settled deliveries
            self._count_pending(conn)

    # --- health ----------------------------------------------------------------------------------

    async def write_problem(self) -> str | None:
        """Why writes fail (disk full, I/O error), or None. No I/O while writes succeed; while they fail,
        one small write is tried, so recovery shows even when nothing else writes (readiness polls this)."""
        if self._writer.write_failure is None:
            return None
        now = self._now()
        with contextlib.suppress(Unavailable):
            await self._writer.submit(
                lambda conn: conn.execute(
                    "INSERT OR REPLACE INTO meta(name, value) VALUES ('write_probe', ?)", (now,)
                )
            )
        return self._writer.write_failure

    # --- meta ------------------------------------------------------------------------------------

    async def secret(self, name: str, factory_bytes: int = 32) -> bytes:
        candidate = os.urandom(factory_bytes)

        def job(conn: sqlite3.Connection) -> bytes:
            conn.execute("INSERT OR IGNORE INTO meta(name, value) VALUES (?, ?)", (name, candidate))
            row = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
            return bytes(row[0])

        return await self._writer.submit(job)

    # --- events ----------------------------------------------------------------------------------

    async def append_event(self, event: Event) -> AppendResult:
        now = self._now()

        def job(conn: sqlite3.Connection) -> AppendResult:
            if event.idempotency_key is not None:
                row = conn.execute(
                    f"SELECT {records.EVENT_COLUMNS}, received_ts FROM events WHERE idempotency_key = ?",
                    (event.idempotency_key,),
                ).fetchone()
                if row is not None:
                    if now - row[10] < IDEMPOTENCY_WINDOW:
                        return AppendResult(records.event_from_row(row[:10]), created=False)
                    conn.execute(
                        "UPDATE events SET idempotency_key = NULL WHERE seq = (SELECT seq FROM "
                        "events WHERE idempotency_key = ?)",
                        (event.idempotency_key,),
                    )
            targets = self._router.route(event)
            self._admit(len(targets))
            conn.execute(
                f"INSERT INTO events({records.EVENT_COLUMNS}, received_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*records.event_params(event), now),
            )
            if targets:
                conn.executemany(
                    "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type,"
                    " next_attempt_at, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?)",
                    [(event.id, sub_id, ep.url, ep.type, now, now, now) for sub_id, ep in targets],
                )
                self._pending += len(targets)
            return AppendResult(event, created=True, deliveries=len(targets))

        result = await self._writer.submit(job)
        if result.deliveries:
            self._notify()
        return result

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

    async def get_event(self, event_id: str) -> Event | None:
        def job(conn: sqlite3.Connection) -> Event | None:
            row = conn.execute(
                f"SELECT {records.EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,)
            ).fetchone()
            return None if row is None else records.event_from_row(row)

        return await self._reader.submit(job)

    async def count_events(self) -> int:
        return int(
            await self._reader.submit(lambda c: c.execute("SELECT count(*) FROM events").fetchone()[0])
        )

    # --- subscriptions ---------------------------------------------------------------------------

    def _write_idempotent(self, conn: sqlite3.Connection, idem: IdempotentRecord | None) -> None:
        if idem is not None:
            conn.execute(
                "INSERT OR REPLACE INTO idempotency(scope, key, body_hash, status, response, created_ts)"
                " VALUES (?,?,?,?,?,?)",
                (
                    idem.scope,
                    idem.key,
                    idem.body_hash,
                    idem.status,
                    records.dumps(idem.response),
                    idem.created_at,
                ),
            )

    def _commit_subs(self, conn: sqlite3.Connection, subs: dict[str, Subscription]) -> None:
        """The cache after a subscription write, which is also marked (a version bump) for the other
        processes on the file."""
        (self._subs_version,) = conn.execute(
            "INSERT INTO meta(name, value) VALUES ('subscriptions_version', 1)"
            " ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value"
        ).fetchone()
        self._subs = subs
        self._router.replace(list(subs.values()))

    async def create_subscription(
        self, sub: Subscription, max_subscriptions: int, idem: IdempotentRecord | None = None
    ) -> Subscription:
        now = self._now()

        def job(conn: sqlite3.Connection) -> Subscription:
            existing = conn.execute("SELECT id FROM subscriptions WHERE name = ?", (sub.name,)).fetchone()
            if existing is not None:
                raise ConflictError(f"a subscription named {sub.name!r} already exists", existing[0])
            count = conn.execute("SELECT count(*) FROM subscriptions").fetchone()[0]
            if count >= max_subscriptions:
                raise QuotaExceeded(
                    FieldError("name", f"the limit of {max_subscriptions} subscriptions is reached"),
                    title="subscription quota exceeded",
                )
            conn.execute(
                "INSERT INTO subscriptions(id, name, doc, created_ts, updated_ts) VALUES (?,?,?,?,?)",
                (sub.id, sub.name, records.subscription_to_doc(sub), now, now),
            )
            self._write_idempotent(conn, idem)
            self._queue_registry(conn, sub.id, "active", now)
            self._commit_subs(conn, {**self._subs, sub.id: sub})
            return sub

        created: Subscription = await self._writer.submit(job)
        self._registry_wake()
        return created

    async def update_subscription(self, sub: Subscription, idem: IdempotentRecord | None = None) -> None:
        now = self._now()

        def job(conn: sqlite3.Connection) -> None:
            clash = conn.execute(
                "SELECT id FROM subscriptions WHERE name = ? AND id != ?", (sub.name, sub.id)
            ).fetchone()
            if clash is not None:
                raise ConflictError(f"a subscription named {sub.name!r} already exists", clash[0])
            cur = conn.execute(
                "UPDATE subscriptions SET name = ?, doc = ?, updated_ts = ? WHERE id = ?",
                (sub.name, records.subscription_to_doc(sub), now, sub.id),
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no subscription with id {sub.id}")
            self._write_idempotent(conn, idem)
            self._queue_registry(conn, sub.id, self._told_state(conn, sub.id), now)
            self._commit_subs(conn, {**self._subs, sub.id: sub})

        await self._writer.submit(job)
        self._registry_wake()

    async def delete_subscription(self, sub_id: str) -> bool:
        now = self._now()

        def job(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,))
            if cur.rowcount == 0:
                return False
            (cancelled,) = conn.execute(
                "SELECT count(*) FROM deliveries WHERE subscription_id = ? AND state = 'pending'",
                (sub_id,),
            ).fetchone()
            conn.execute(
                "UPDATE deliveries SET state = 'cancelled', last_error = 'subscription deleted', lease_until = NULL,"
                " updated_ts = ?"
                " WHERE subscription_id = ? AND state = 'pending'",
                (now, sub_id),
            )
            self._commit_subs(conn, {k: v for k, v in self._subs.items() if k != sub_id})
            self._pending -= cancelled
            self._queue_registry(conn, sub_id, DELETED, now)
            return True

        deleted: bool = await self._writer.submit(job)
        if deleted:
            self._registry_wake()
        return deleted

    async def get_subscription(self, sub_id: str) -> Subscription | None:
        await self._catch_up()
        return self._subs.get(sub_id)

    def cached_subscription(self, sub_id: str) -> Subscription | None:
        """The subscription as of this process's last write batch, without waiting: the dispatcher's
        per-delivery lookup. It leases through a write batch, so it is at most one lease behind."""
        return self._subs.get(sub_id)

    async def list_subscriptions(self) -> list[Subscription]:
        await self._catch_up()
        return sorted(self._subs.values(), key=lambda s: (s.created_at, s.id))

    async def _catch_up(self) -> None:
        """Reads show what another process on the file wrote: when the committed version differs from
        the cache's, an empty write batch makes the writer reload (see `_follow_other_writers`)."""
        if await self._reader.submit(_subscriptions_version) != self._subs_version:
            await self._writer.submit(lambda conn: None)

    async def get_idempotent(
        self, scope: str, key: str, max_age: float = IDEMPOTENCY_WINDOW
    ) -> IdempotentRecord | None:
        def job(conn: sqlite3.Connection) -> IdempotentRecord | None:
            row = conn.execute(
                "SELECT body_hash, status, response, created_ts FROM idempotency WHERE scope = ? AND key = ?",
                (scope, key),
            ).fetchone()
            if row is None or self._now() - row[3] > max_age:
                return None
            return IdempotentRecord(scope, key, row[0], row[1], orjson.loads(row[2]), row[3])

        return await self._reader.submit(job)

    # --- deliveries ------------------------------------------------------------------------------

    async def lease(
        self, owner: str, limit: int, lease_seconds: float, exclude_endpoints: Sequence[str] = ()
    ) -> list[DeliveryJob]:
        now = self._now()
        excluded = list(exclude_endpoints)

        def job(conn: sqlite3.Connection) -> list[DeliveryJob]:
            # An expired lease becomes claimable again; its owner is kept, so a slow owner's settlement
            # still counts until someone else leases the row.
            conn.execute("UPDATE deliveries SET lease_until = NULL WHERE lease_until < ?", (now,))
            skip = f" AND endpoint_url NOT IN ({','.join('?' * len(excluded))})" if excluded else ""
            rows = conn.execute(
                "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id IN ("
                " SELECT id FROM deliveries INDEXED BY deliveries_unleased WHERE state = 'pending'"
                " AND lease_until IS NULL AND next_attempt_at <= ?"
                + skip
                + " ORDER BY next_attempt_at LIMIT ?)"
                " RETURNING id, event_id, subscription_id, endpoint_url, endpoint_type, kind, attempts, payload",
                (owner, now + lease_seconds, now, *excluded, limit),
            ).fetchall()
            if not rows:
                return []
            event_ids = sorted({r[1] for r in rows})
            events = {
                e.id: e
                for e in (
                    records.event_from_row(row)
                    for row in conn.execute(
                        f"SELECT {records.EVENT_COLUMNS} FROM events WHERE id IN ({','.join('?' * len(event_ids))})",
                        event_ids,
                    )
                )
            }
            return [
                DeliveryJob(
                    id=r[0],
                    event=events[r[1]],
                    subscription_id=r[2],
                    endpoint=EndpointSpec(r[3], r[4]),
                    attempt=r[6] + 1,
                    kind=r[5],
                    payload=None if r[7] is None else orjson.loads(r[7]),
                )
                for r in sorted(rows, key=lambda r: r[0])
            ]

        return await self._writer.submit(job)

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None:
        now = self._now()

        def job(conn: sqlite3.Connection) -> int:
            record_attempts(conn, owner, settlements, now)
            forwarded = settled = 0
            delivered = conn.executemany(  # the common case, in one statement: no RETURNING, nothing to forward
                "UPDATE deliveries SET state = 'delivered', attempts = ?, last_status = ?, last_error = NULL,"
                " lease_owner = NULL, lease_until = NULL, updated_ts = ?, dead_ts = NULL"
                " WHERE id = ? AND lease_owner = ?",
                [
                    (s.attempt, s.status, now, s.delivery_id, owner)
                    for s in settlements
                    if s.state == "delivered"
                ],
            ).rowcount
            for s in settlements:
                if s.state == "delivered":
                    continue
                cur = conn.execute(
                    f"UPDATE deliveries SET {_SETTLE}"
                    " RETURNING event_id, subscription_id, endpoint_url, endpoint_type, created_ts, kind",
                    records.settlement_params(s, now, owner),
                )
                row = cur.fetchone()
                if row is not None and s.state == "dead":
                    settled += 1
                if row is not None and s.state == "dead" and s.forward_to is not None and row[5] == "event":
                    letter = records.forwarded_letter(s, row, now)
                    conn.execute(
                        "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type, kind,"
                        " payload, next_attempt_at, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?,?,?)",
                        (
                            row[0],
                            row[1],
                            s.forward_to.url,
                            s.forward_to.type,
                            "deadletter",
                            records.dumps(letter),
                            now,
                            now,
                            now,
                        ),
                    )
                    forwarded += 1
            self._pending += forwarded - settled - max(delivered, 0)
            return forwarded

        if await self._writer.submit(job):
            self._notify()

    async def renew(self, owner: str, delivery_ids: Sequence[int], lease_seconds: float) -> int:
        until = self._now() + lease_seconds
        ids = list(delivery_ids)

        def job(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE deliveries SET lease_until = ? WHERE lease_owner = ? AND lease_until IS NOT NULL"
                f" AND id IN ({','.join('?' * len(ids))})",
                (until, owner, *ids),
            ).rowcount

        return await self._writer.submit(job)

    async def release(self, owner: str, delivery_ids: Sequence[int]) -> None:
        """Give leases back on shutdown so the next process need not wait for them to expire."""
        ids = list(delivery_ids)

        def job(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?"
                f" AND id IN ({','.join('?' * len(ids))})",
                (owner, *ids),
            )

        await self._writer.submit(job)

    async def next_due(self, exclude_endpoints: Sequence[str] = ()) -> float | None:
        """When the earliest unleased pending delivery becomes due (epoch seconds), for the dispatcher's
        sleep. Leased rows are left out: their owner settles them, and an expired lease is reclaimed by
        the next `lease`, which the dispatcher calls at least every poll interval. So are the endpoints
        in `exclude_endpoints` (saturated ones), walking the lease's own index."""
        excluded = list(exclude_endpoints)
        skip = f" AND endpoint_url NOT IN ({','.join('?' * len(excluded))})" if excluded else ""

        def job(conn: sqlite3.Connection) -> float | None:
            row = conn.execute(
                "SELECT next_attempt_at FROM deliveries INDEXED BY deliveries_unleased WHERE state = 'pending'"
                " AND lease_until IS NULL" + skip + " ORDER BY next_attempt_at LIMIT 1",
                excluded,
            ).fetchone()
            return None if row is None else float(row[0])

        return await self._reader.submit(job)

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
            counts = {"delivered": 0, "pending": 0, "retrying": 0, "dead": 0}
            for state, retried, n in conn.execute(
                "SELECT state, attempts > 0, count(*) FROM deliveries"
                " WHERE subscription_id = ? AND kind = 'event' GROUP BY 1, 2",
                (sub_id,),
            ):
                if state == "pending":
                    counts["retrying" if retried else "pending"] += n
                elif state in counts:
                    counts[state] += n
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
            return DeliveryCounts(
                delivered=counts["delivered"],
                pending=counts["pending"],
                retrying=counts["retrying"],
                dead_lettered=counts["dead"],
                last_error=None if last is None or last[0] == "delivered" else last[1],
                last_delivery_at=None if last is None else iso(last[2]),
                last_success_at=iso_or_none(success),
                last_success_ts=success,
                recent_failures=recent_failures,
                backpressure=self._backpressure(),
            )

        return await self._reader.submit(job)

    # --- dead letters ----------------------------------------------------------------------------

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

    async def purge_history(self, older_than: float, chunk: int = 5000) -> tuple[int, int]:
        """Forget what is settled and older than `older_than` (epoch seconds): delivered and cancelled
        deliveries last changed before it, then events received before it that no delivery refers to
        any more (pending ones, dead letters and their forwards keep their event). Returns (deliveries,
        events) removed.

        Why in chunks: one writer transaction per `chunk` rows, so a first purge of months of history
        never stalls ingestion for longer than one chunk takes.
        """
        # where old rows end, found once: rows added later get larger keys, so the bounds hold
        old_deliveries, old_events = await self._reader.submit(
            lambda conn: (
                _boundary(conn, "deliveries", "id", "created_ts", older_than),
                _boundary(conn, "events", "seq", "received_ts", older_than),
            )
        )

        def job(conn: sqlite3.Connection) -> tuple[int, int]:
            gone = conn.execute(
                "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE id < ?"
                " AND state IN ('delivered', 'cancelled') AND updated_ts < ? LIMIT ?)",
                (old_deliveries, older_than, chunk),
            ).rowcount
            forgotten = conn.execute(
                "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq < ? AND received_ts < ?"
                " AND NOT EXISTS (SELECT 1 FROM deliveries WHERE deliveries.event_id = events.id) LIMIT ?)",
                (old_events, older_than, chunk),
            ).rowcount
            return gone, forgotten

        deliveries = events = 0
        while True:
            gone, forgotten = await self._writer.submit(job)
            deliveries, events = deliveries + gone, events + forgotten
            if gone < chunk and forgotten < chunk:
                return deliveries, events

    async def purge_expired(self) -> int:
        """Apply each subscription's dead-letter retentionDays, and forget old idempotency records."""
        now = self._now()
        retention = {s.id: s.dead_letter.retention_days for s in self._subs.values()}

        def job(conn: sqlite3.Connection) -> int:
            purged = 0
            for sub_id, days in retention.items():
                purged += conn.execute(
                    "DELETE FROM deliveries WHERE state = 'dead' AND subscription_id = ? AND dead_ts < ?",
                    (sub_id, now - days * 86400.0),
                ).rowcount
            conn.execute("DELETE FROM idempotency WHERE created_ts < ?", (now - IDEMPOTENCY_WINDOW,))
            return purged

        return int(await self._writer.submit(job))


def _boundary(conn: sqlite3.Connection, table: str, key: str, ts: str, cutoff: float) -> int:
    """The first `key` whose `ts` is at or after `cutoff`, by bisection on the (rowid) key.

    Keys grow with time, so everything older than `cutoff` lies below the boundary: the purge scans
    only that part of the table, in O(log n) seeks to find it, rather than the whole table each time.
    """
    lo, hi = conn.execute(
        f"SELECT coalesce(min({key}), 0), coalesce(max({key}), 0) + 1 FROM {table}"
    ).fetchone()
    while lo < hi:
        mid = (lo + hi) // 2
        row = conn.execute(
            f"SELECT {key}, {ts} FROM {table} WHERE {key} >= ? ORDER BY {key} LIMIT 1", (mid,)
        ).fetchone()
        if row is None or row[1] >= cutoff:
            hi = mid
        else:
            lo = row[0] + 1
    return int(lo)


def _subscriptions_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE name = 'subscriptions_version'").fetchone()
    return 0 if row is None else int(row[0])
