"""The shared store: PostgreSQL through an asyncpg pool, for any number of replicas on one database.

Every write is one transaction; a method returns after COMMIT, which is the 2xx promise. Routing
happens inside the append transaction, with this replica's compiled subscriptions: the transaction
first reads the `subscriptions_version` counter (every subscription write bumps it in its own
transaction) and reloads the cache when it moved. In READ COMMITTED that read sees every commit
made before it, so an event is never routed with subscriptions older than those committed before
its request began, whichever replica wrote them. Subscription writes lock the counter row, so they
are serialized across replicas (names and the quota hold).

Leases take rows with `FOR UPDATE SKIP LOCKED`, so replicas never lease the same due delivery and
never wait on each other; an expired lease is claimable by anyone, its owner kept until then so a
slow owner's settlement still counts. Commits that make deliveries due `NOTIFY` the other replicas,
whose listeners then wake their dispatchers. Housekeeping runs in bounded chunks, each under an
advisory lock, so replicas take turns rather than deleting the same rows at once.

Timestamps are epoch seconds from the injected clock, as on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import asyncpg
import orjson
import structlog

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
from ccbridge.stores.postgres.batching import GroupCommitter
from ccbridge.stores.postgres.connector_leases import PostgresConnectorLeases
from ccbridge.stores.postgres.deadletter_removal import PostgresDeadLetterRemoval
from ccbridge.stores.postgres.health import PostgresEndpointHealth
from ccbridge.stores.postgres.history import PostgresHistory, record_attempts
from ccbridge.stores.postgres.migrations import apply_migrations, check_schema_name
from ccbridge.stores.postgres.probe import PostgresReadProbe
from ccbridge.stores.postgres.rate_limits import PostgresRateLimits
from ccbridge.stores.postgres.registry import PostgresRegistryOutbox

log = structlog.get_logger("ccbridge.store")

OVERLOADED_RETRY_AFTER = 5.0  # seconds: a floor for a refused caller's retry
UNAVAILABLE_RETRY_AFTER = 5.0  # seconds: while the database cannot be reached or cannot write

# what says "the database cannot take writes now" rather than "this request is wrong"
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,  # a session the server ended mid-operation: its protocol broke
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: disk full, out of memory, too many connections
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, cannot connect now
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a standby after a failover
    ConnectionError,
    OSError,
    TimeoutError,
)

_EVENT_COLUMNS = records.EVENT_COLUMNS
_E_COLUMNS = records.EVENT_COLUMNS_OF_E

_SETTLE = records.SETTLE_COLUMNS.format(*(f"${n}" for n in range(1, 10)))


class PostgresStore(
    PostgresDeadLetterRemoval,
    PostgresHistory,
    PostgresRegistryOutbox,
    PostgresEndpointHealth,
    PostgresConnectorLeases,
    PostgresReadProbe,
    PostgresRateLimits,
):
    """The `Store` port on PostgreSQL. `url` is a `postgresql://` DSN; `schema`, when given, is created
    if missing and used as the search path (tests give each their own); `clock` drives every schedule."""

    def __init__(
        self,
        url: str,
        router: Router,
        clock: Clock | None = None,
        max_pending: int | None = None,
        schema: str | None = None,
        pool_size: int = 10,
    ) -> None:
        self.url = url
        self.schema = None if schema is None else check_schema_name(schema)
        self._router = router
        self._now = (clock or SystemClock()).now
        self._max_pending = max_pending
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._listen: asyncpg.Connection | None = None
        self._instance = uuid.uuid4().hex  # tells this instance's own NOTIFYs from other replicas'
        self._channel = f"ccb_due_{self.schema or 'public'}"
        self._subs_channel = f"ccb_subs_{self.schema or 'public'}"
        self._refreshing: asyncio.Task[None] | None = None
        self._subs: dict[str, Subscription] = {}
        self._subs_version = -1  # the `subscriptions_version` the cache reflects
        self._listeners: list[Callable[[], None]] = []
        self._write_failure: str | None = None
        self._refused = 0
        self._refused_need = 0  # deliveries of the latest refused event: refusing while they don't fit
        self._appender: GroupCommitter[tuple[Event, float], AppendResult] | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def _settings(self) -> dict[str, str]:
        """Session settings: the schema, and a name that shows whose sessions these are in pg_stat_activity."""
        name = "ccbridge" if self.schema is None else f"ccbridge {self.schema}"
        return {"application_name": name} | ({} if self.schema is None else {"search_path": self.schema})

    async def open(self) -> None:
        try:
            conn = await asyncpg.connect(self.url, server_settings=self._settings())
            try:
                await apply_migrations(conn, self.schema)
            finally:
                await conn.close()
            self._pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=self._pool_size, server_settings=self._settings()
            )
            self._listen = await asyncpg.connect(self.url, server_settings=self._settings())
            await self._listen.add_listener(self._channel, self._heard)
            await self._listen.add_listener(self._subs_channel, self._heard_subscriptions)
        except _UNAVAILABLE as exc:
            await self.close()
            raise _unavailable(exc) from exc
        async with self._conn() as conn:
            await self._sync_subscriptions(conn)
        self._appender = GroupCommitter(self._append_batch)
        self._appender.on_batch = getattr(self, "_commit_observer", None)
        self._appender.start()

    @property
    def stats(self) -> dict[str, int]:
        appender = self._appender
        return (
            {"write_batches": 0, "write_jobs": 0}
            if appender is None
            else {
                "write_batches": appender.batches,
                "write_jobs": appender.jobs,
            }
        )

    def observe_commit_batches(self, observe: Callable[[int], None]) -> None:
        """`observe(n)` after each group commit of `n` event appends (set before or after `open`)."""
        self._commit_observer = observe
        if self._appender is not None:
            self._appender.on_batch = observe

    async def close(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing
            self._refreshing = None
        if self._appender is not None:
            await self._appender.stop()
            self._appender = None
        if self._listen is not None:
            with contextlib.suppress(*_UNAVAILABLE):
                await self._listen.close()
            self._listen = None
        if self._pool is not None:
            with contextlib.suppress(*_UNAVAILABLE):
                await self._pool.close()
            self._pool = None

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called on the event loop after a commit that made deliveries due, here or in another replica."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in self._listeners:
            callback()

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload != self._instance:  # this instance already called its listeners after its commit
            self._notify()

    def _heard_subscriptions(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        """Another replica changed subscriptions: reload now rather than in the next append's transaction
        (which checks the version anyway, so this only takes the reload off the ingest path)."""
        if payload != self._instance and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        with contextlib.suppress(Unavailable):
            await self._catch_up()

    @contextlib.asynccontextmanager
    async def _conn(self, write: bool = False, transaction: bool = True) -> AsyncIterator[Any]:
        """A pooled connection in a transaction (or, with `transaction=False`, in autocommit: for a
        single statement, which then costs one round trip instead of three); database outages
        surface as `Unavailable`."""
        if self._pool is None:
            raise Unavailable("the store is not open", retry_after=UNAVAILABLE_RETRY_AFTER)
        try:
            async with self._pool.acquire() as conn:
                if transaction:
                    async with conn.transaction():
                        yield conn
                else:
                    yield conn
        except _UNAVAILABLE as exc:
            error = _unavailable(exc)
            if write:
                if self._write_failure is None:
                    log.error("store_write_failed", error=str(exc))
                self._write_failure = str(exc) or type(exc).__name__
            raise error from exc
        if write and self._write_failure is not None:
            log.info("store_write_recovered")
            self._write_failure = None

    # --- health ----------------------------------------------------------------------------------

    async def write_problem(self) -> str | None:
        """Why writes fail (the database is unreachable, its disk is full), or None. No I/O while writes
        succeed; while they fail, one small write is tried so recovery shows even when nothing writes."""
        if self._write_failure is None:
            return None
        with contextlib.suppress(Unavailable):
            async with self._conn(write=True) as conn:
                await conn.execute(
                    "INSERT INTO meta(name, value) VALUES ('write_probe', $1)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    repr(self._now()).encode(),
                )
        return self._write_failure

    # --- meta ------------------------------------------------------------------------------------

    async def secret(self, name: str, factory_bytes: int = 32) -> bytes:
        async with self._conn(write=True) as conn:
            await conn.execute(
                "INSERT INTO meta(name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                name,
                os.urandom(factory_bytes),
            )
            return bytes(await conn.fetchval("SELECT value FROM meta WHERE name = $1", name))

    # --- subscriptions cache ---------------------------------------------------------------------

    async def _sync_subscriptions(self, conn: Any, version: int | None = None) -> None:
        """Reload the cache (and the router) when the committed version differs from the cache's."""
        if version is None:
            version = await conn.fetchval("SELECT value FROM counters WHERE name = 'subscriptions_version'")
        if version != self._subs_version:
            self._apply_subscriptions(int(version), await _read_subscriptions(conn))

    def _apply_subscriptions(self, version: int, subs: list[Subscription]) -> None:
        if version < self._subs_version:  # a concurrent reload already brought something newer
            return
        self._subs_version = version
        self._subs = {s.id: s for s in subs}
        self._router.replace(subs)

    # --- events ----------------------------------------------------------------------------------

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

    async def get_event(self, event_id: str) -> Event | None:
        async with self._conn() as conn:
            row = await conn.fetchrow(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = $1", event_id)
        return None if row is None else records.event_from_row(tuple(row))

    async def count_events(self) -> int:
        async with self._conn() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM events"))

    # --- subscriptions ---------------------------------------------------------------------------

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

    @contextlib.asynccontextmanager
    async def _subscription_write(self) -> AsyncIterator[Any]:
        """A transaction that changes subscriptions: it bumps (and so locks until commit) the version
        row first, which serializes subscription writes across replicas, and refreshes the cache after
        the commit."""
        async with self._conn(write=True) as conn:
            version = await conn.fetchval(
                "UPDATE counters SET value = value + 1 WHERE name = 'subscriptions_version' RETURNING value"
            )
            yield conn
            subs = await _read_subscriptions(conn)
            await conn.execute("SELECT pg_notify($1, $2)", self._subs_channel, self._instance)
        self._apply_subscriptions(int(version), subs)

    async def create_subscription(
        self, sub: Subscription, max_subscriptions: int, idem: IdempotentRecord | None = None
    ) -> Subscription:
        now = self._now()
        async with self._subscription_write() as conn:
            existing = await conn.fetchval("SELECT id FROM subscriptions WHERE name = $1", sub.name)
            if existing is not None:
                raise ConflictError(f"a subscription named {sub.name!r} already exists", existing)
            if await conn.fetchval("SELECT count(*) FROM subscriptions") >= max_subscriptions:
                raise QuotaExceeded(
                    FieldError("name", f"the limit of {max_subscriptions} subscriptions is reached"),
                    title="subscription quota exceeded",
                )
            await conn.execute(
                "INSERT INTO subscriptions(id, name, doc, created_ts, updated_ts) VALUES ($1,$2,$3,$4,$4)",
                sub.id,
                sub.name,
                records.subscription_to_doc(sub),
                now,
            )
            await self._write_idempotent(conn, idem)
            await self._queue_registry(conn, sub.id, "active", now)
        self._registry_wake()
        return sub

    async def update_subscription(self, sub: Subscription, idem: IdempotentRecord | None = None) -> None:
        now = self._now()
        async with self._subscription_write() as conn:
            clash = await conn.fetchval(
                "SELECT id FROM subscriptions WHERE name = $1 AND id <> $2", sub.name, sub.id
            )
            if clash is not None:
                raise ConflictError(f"a subscription named {sub.name!r} already exists", clash)
            status = await conn.execute(
                "UPDATE subscriptions SET name = $1, doc = $2, updated_ts = $3 WHERE id = $4",
                sub.name,
                records.subscription_to_doc(sub),
                now,
                sub.id,
            )
            if _rowcount(status) == 0:
                raise NotFoundError(f"no subscription with id {sub.id}")
            await self._write_idempotent(conn, idem)
            await self._queue_registry(conn, sub.id, await self._told_state(conn, sub.id), now)
        self._registry_wake()

    async def delete_subscription(self, sub_id: str) -> bool:
        now = self._now()
        async with self._subscription_write() as conn:
            if _rowcount(await conn.execute("DELETE FROM subscriptions WHERE id = $1", sub_id)) == 0:
                return False
            await conn.execute(
                "UPDATE deliveries SET state = 'cancelled', last_error = 'subscription deleted',"
                " lease_until = NULL, updated_ts = $1 WHERE subscription_id = $2 AND state = 'pending'",
                now,
                sub_id,
            )
            await self._queue_registry(conn, sub_id, DELETED, now)
        self._registry_wake()
        return True

    async def get_subscription(self, sub_id: str) -> Subscription | None:
        await self._catch_up()
        return self._subs.get(sub_id)

    def cached_subscription(self, sub_id: str) -> Subscription | None:
        """The subscription as of this instance's latest lease (each lease checks the version first)."""
        return self._subs.get(sub_id)

    async def list_subscriptions(self) -> list[Subscription]:
        await self._catch_up()
        return sorted(self._subs.values(), key=lambda s: (s.created_at, s.id))

    async def _catch_up(self) -> None:
        async with self._conn() as conn:
            await self._sync_subscriptions(conn)

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

    # --- deliveries ------------------------------------------------------------------------------

    async def lease(
        self, owner: str, limit: int, lease_seconds: float, exclude_endpoints: Sequence[str] = ()
    ) -> list[DeliveryJob]:
        now = self._now()
        async with self._conn(write=True) as conn:
            await self._sync_subscriptions(conn)
            rows = await conn.fetch(
                "WITH picked AS (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $1"
                " AND (lease_until IS NULL OR lease_until < $1) AND endpoint_url <> ALL($4::text[])"
                " ORDER BY next_attempt_at, id LIMIT $5 FOR UPDATE SKIP LOCKED),"
                " leased AS (UPDATE deliveries d SET lease_owner = $2, lease_until = $3 FROM picked"
                " WHERE d.id = picked.id RETURNING d.id, d.event_id, d.subscription_id, d.endpoint_url,"
                " d.endpoint_type, d.kind, d.attempts, d.payload)"
                f" SELECT l.*, {_E_COLUMNS} FROM leased l JOIN events e ON e.id = l.event_id ORDER BY l.id",
                now,
                owner,
                now + lease_seconds,
                list(exclude_endpoints),
                limit,
            )
        return [
            DeliveryJob(
                id=r[0],
                event=records.event_from_row(tuple(r[8:18])),
                subscription_id=r[2],
                endpoint=EndpointSpec(r[3], r[4]),
                attempt=r[6] + 1,
                kind=r[5],
                payload=None if r[7] is None else orjson.loads(r[7]),
            )
            for r in rows
        ]

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None:
        now = self._now()
        delivered = [s for s in settlements if s.state == "delivered"]
        forwarded = 0
        async with self._conn(write=True) as conn:
            await record_attempts(conn, owner, settlements, now)
            if delivered:  # the common case, in one statement: nothing to return, nothing to forward
                await conn.execute(
                    "UPDATE deliveries d SET state = 'delivered', attempts = s.attempt, last_status = s.status,"
                    " last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_ts = $4, dead_ts = NULL"
                    " FROM unnest($1::bigint[], $2::integer[], $3::integer[]) AS s(id, attempt, status)"
                    " WHERE d.id = s.id AND d.lease_owner = $5",
                    [s.delivery_id for s in delivered],
                    [s.attempt for s in delivered],
                    [s.status for s in delivered],
                    now,
                    owner,
                )
            for s in settlements:
                if s.state == "delivered":
                    continue
                row = await conn.fetchrow(
                    f"UPDATE deliveries SET {_SETTLE}"
                    " RETURNING event_id, subscription_id, endpoint_url, endpoint_type, created_ts, kind",
                    *records.settlement_params(s, now, owner),
                )
                if row is None or s.state != "dead" or s.forward_to is None or row[5] != "event":
                    continue
                letter = records.forwarded_letter(s, row, now)
                await conn.execute(
                    "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type, kind,"
                    " payload, next_attempt_at, created_ts, updated_ts) VALUES ($1,$2,$3,$4,'deadletter',$5,$6,$6,$6)",
                    row[0],
                    row[1],
                    s.forward_to.url,
                    s.forward_to.type,
                    records.dumps(letter),
                    now,
                )
                forwarded += 1
            if forwarded:
                await conn.execute("SELECT pg_notify($1, $2)", self._channel, self._instance)
        if forwarded:
            self._notify()

    async def renew(self, owner: str, delivery_ids: Sequence[int], lease_seconds: float) -> int:
        async with self._conn(write=True) as conn:
            status = await conn.execute(
                "UPDATE deliveries SET lease_until = $1 WHERE lease_owner = $2 AND lease_until IS NOT NULL"
                " AND id = ANY($3::bigint[])",
                self._now() + lease_seconds,
                owner,
                list(delivery_ids),
            )
        return _rowcount(status)

    async def release(self, owner: str, delivery_ids: Sequence[int]) -> None:
        """Give leases back on shutdown so the next replica need not wait for them to expire."""
        async with self._conn(write=True) as conn:
            await conn.execute(
                "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1"
                " AND id = ANY($2::bigint[])",
                owner,
                list(delivery_ids),
            )
            await conn.execute("SELECT pg_notify($1, $2)", self._channel, self._instance)

    async def next_due(self, exclude_endpoints: Sequence[str] = ()) -> float | None:
        """When the earliest unleased pending delivery becomes due, for the dispatcher's sleep. Leased
        rows are left out (an expired lease is reclaimed by the next `lease`), as are the endpoints in
        `exclude_endpoints`."""
        async with self._conn() as conn:
            value = await conn.fetchval(
                "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending' AND lease_until IS NULL"
                " AND endpoint_url <> ALL($1::text[])",
                list(exclude_endpoints),
            )
        return None if value is None else float(value)

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
        counts = {"delivered": 0, "pending": 0, "retrying": 0, "dead": 0}
        async with self._conn() as conn:
            for state, retried, n in await conn.fetch(
                "SELECT state, attempts > 0, count(*) FROM deliveries WHERE subscription_id = $1"
                " AND kind = 'event' GROUP BY 1, 2",
                sub_id,
            ):
                if state == "pending":
                    counts["retrying" if retried else "pending"] += n
                elif state in counts:
                    counts[state] += n
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
        return DeliveryCounts(
            delivered=counts["delivered"],
            pending=counts["pending"],
            retrying=counts["retrying"],
            dead_lettered=counts["dead"],
            last_error=None if last is None or last[0] == "delivered" else last[1],
            last_delivery_at=None if last is None else iso(last[2]),
            last_success_at=iso_or_none(success),
            last_success_ts=success,
            recent_failures=int(recent_failures),
            backpressure=backpressure,
        )

    async def _backpressure(self, conn: Any) -> str | None:
        """Why events are refused now, or None: the latest refused event still would not fit."""
        limit = self._max_pending
        if limit is None or not self._refused_need:
            return None
        pending = await _count_pending(conn)
        if pending + self._refused_need <= limit:
            return None
        return f"ingestion refused: {pending} deliveries pending, limit {limit} (limits.max_pending)"

    # --- dead letters ----------------------------------------------------------------------------

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
            replayed = _rowcount(status)
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
        return _rowcount(status)

    async def purge_history(self, older_than: float, chunk: int = 5000) -> tuple[int, int]:
        """Forget delivered and cancelled deliveries last changed before `older_than`, then events
        received before it that no delivery refers to any more. Returns (deliveries, events) removed.

        Why in chunks: one transaction per `chunk` rows, each under the housekeeping lock, so a first
        purge of months of history never holds locks for long and replicas take turns."""
        deliveries = events = 0
        while True:
            async with self._conn(write=True) as conn:
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended('ccbridge:housekeeping:' || current_schema(), 0))"
                )
                gone = _rowcount(
                    await conn.execute(
                        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE state IN"
                        " ('delivered', 'cancelled') AND updated_ts < $1 LIMIT $2)",
                        older_than,
                        chunk,
                    )
                )
                forgotten = _rowcount(
                    await conn.execute(
                        "DELETE FROM events WHERE seq IN (SELECT seq FROM events e WHERE received_ts < $1"
                        " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT $2)",
                        older_than,
                        chunk,
                    )
                )
            deliveries, events = deliveries + gone, events + forgotten
            if gone < chunk and forgotten < chunk:
                return deliveries, events

    async def purge_expired(self) -> int:
        """Apply each subscription's dead-letter retentionDays, and forget old idempotency records."""
        now = self._now()
        async with self._conn(write=True) as conn:
            await self._sync_subscriptions(conn)
            subs = list(self._subs.values())
            purged = _rowcount(
                await conn.execute(
                    "DELETE FROM deliveries d USING unnest($1::text[], $2::float8[]) AS r(sub, cutoff)"
                    " WHERE d.state = 'dead' AND d.subscription_id = r.sub AND d.dead_ts < r.cutoff",
                    [s.id for s in subs],
                    [now - s.dead_letter.retention_days * 86400.0 for s in subs],
                )
            )
            await conn.execute("DELETE FROM idempotency WHERE created_ts < $1", now - IDEMPOTENCY_WINDOW)
        return purged


async def _read_subscriptions(conn: Any) -> list[Subscription]:
    rows = await conn.fetch("SELECT doc FROM subscriptions ORDER BY created_ts, id")
    return [records.subscription_from_doc(r[0]) for r in rows]


async def _count_pending(conn: Any) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM deliveries WHERE state = 'pending'"))


def _rowcount(status: str) -> int:
    """The row count at the end of a command tag ("UPDATE 3", "DELETE 0")."""
    return int(status.rsplit(" ", 1)[-1])


def _unavailable(exc: BaseException) -> Unavailable:
    return Unavailable(
        f"the store cannot be reached or cannot write: {type(exc).__name__}",
        retry_after=UNAVAILABLE_RETRY_AFTER,
    )
