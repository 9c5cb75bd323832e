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
whose listeners then wake their dispatchers; subscription writes `NOTIFY` them to refresh their
caches (`listening.py` keeps that session open across drops). Housekeeping runs in bounded chunks, each under an
advisory lock, so replicas take turns rather than deleting the same rows at once.

Timestamps are epoch seconds from the injected clock, as on SQLite.

This module assembles the store from one mixin per job (events and idempotency, subscriptions,
admission under `max_pending`, the delivery queue, delivery reports, dead letters, housekeeping,
history, and the rest beside it) and keeps what they share: the lifecycle (`open`, `close`), the
pooled transaction `_conn` that turns outages into `Unavailable`, and `_notify`, which wakes this
process's dispatchers. The SQLite store is cut the same way, module for module.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import structlog

from ccbridge.core.event import Event, Subscription
from ccbridge.core.ports import AppendResult, Clock, Router
from ccbridge.core.times import SystemClock
from ccbridge.errors import Unavailable
from ccbridge.stores.postgres.admission import PostgresAdmission
from ccbridge.stores.postgres.answers import UNAVAILABLE_RETRY_AFTER
from ccbridge.stores.postgres.batching import GroupCommitter
from ccbridge.stores.postgres.connector_leases import PostgresConnectorLeases
from ccbridge.stores.postgres.deadletter_removal import PostgresDeadLetterRemoval
from ccbridge.stores.postgres.deadletters import PostgresDeadLetters
from ccbridge.stores.postgres.delivery_queue import PostgresDeliveryQueue
from ccbridge.stores.postgres.delivery_reports import PostgresDeliveryReports
from ccbridge.stores.postgres.events import PostgresEvents
from ccbridge.stores.postgres.health import PostgresEndpointHealth
from ccbridge.stores.postgres.history import PostgresHistory
from ccbridge.stores.postgres.housekeeping import PostgresHousekeeping
from ccbridge.stores.postgres.listening import Listener, ListenPolicy
from ccbridge.stores.postgres.migrations import apply_migrations, check_schema_name
from ccbridge.stores.postgres.probe import PostgresReadProbe
from ccbridge.stores.postgres.rate_limits import PostgresRateLimits
from ccbridge.stores.postgres.registry import PostgresRegistryOutbox
from ccbridge.stores.postgres.subscriptions import PostgresSubscriptions

log = structlog.get_logger("ccbridge.store")

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


class PostgresStore(
    PostgresEvents,
    PostgresAdmission,
    PostgresSubscriptions,
    PostgresDeliveryQueue,
    PostgresDeliveryReports,
    PostgresDeadLetters,
    PostgresHousekeeping,
    PostgresDeadLetterRemoval,
    PostgresHistory,
    PostgresRegistryOutbox,
    PostgresEndpointHealth,
    PostgresConnectorLeases,
    PostgresReadProbe,
    PostgresRateLimits,
):
    """The `Store` port on PostgreSQL. `url` is a `postgresql://` DSN; `schema`, when given, is created
    if missing and used as the search path (tests give each their own); `clock` drives every schedule;
    `listening` says how the LISTEN session is watched and reopened.

    `command_timeout` (seconds) bounds each pooled statement and the cancellation of one that ran
    out: a session that silently stopped carrying bytes (no FIN, no RST: a NAT or firewall forgot
    it) then ends the operation as `Unavailable` and is dropped, where it would otherwise hold the
    operation, and the pool slot, forever. It bounds `close()` the same way."""

    def __init__(
        self,
        url: str,
        router: Router,
        clock: Clock | None = None,
        max_pending: int | None = None,
        schema: str | None = None,
        pool_size: int = 10,
        listening: ListenPolicy | None = None,
        command_timeout: float = 60.0,
    ) -> None:
        self.url = url
        self.schema = None if schema is None else check_schema_name(schema)
        self._router = router
        self._now = (clock or SystemClock()).now
        self._max_pending = max_pending
        self._pool_size = pool_size
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._instance = uuid.uuid4().hex  # tells this instance's own NOTIFYs from other replicas'
        self._channel = f"ccb_due_{self.schema or 'public'}"
        self._subs_channel = f"ccb_subs_{self.schema or 'public'}"
        self.listener = Listener(
            url,
            self._settings(),
            self._instance,
            self._channel,
            self._subs_channel,
            wake=self._notify,
            refresh=self._catch_up,
            policy=listening,
        )
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
                self.url,
                min_size=1,
                max_size=self._pool_size,
                server_settings=self._settings(),
                command_timeout=self._command_timeout,
            )
            await self.listener.start()
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
        """Group-commit figures, and whether the listener is connected (with its reconnects)."""
        appender = self._appender
        writes = (
            {"write_batches": 0, "write_jobs": 0}
            if appender is None
            else {
                "write_batches": appender.batches,
                "write_jobs": appender.jobs,
            }
        )
        return writes | self.listener.stats

    def observe_commit_batches(self, observe: Callable[[int], None]) -> None:
        """`observe(n)` after each group commit of `n` event appends (set before or after `open`)."""
        self._commit_observer = observe
        if self._appender is not None:
            self._appender.on_batch = observe

    async def close(self) -> None:
        await self.listener.close()
        if self._appender is not None:
            await self._appender.stop()
            self._appender = None
        if self._pool is not None:
            try:
                async with asyncio.timeout(self._command_timeout):
                    await self._pool.close()
            except _UNAVAILABLE:  # includes the timeout: sessions that stopped answering are cut
                self._pool.terminate()
            self._pool = None

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called on the event loop after a commit that made deliveries due, here or in another replica."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in self._listeners:
            callback()

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


def _unavailable(exc: BaseException) -> Unavailable:
    return Unavailable(
        f"the store cannot be reached or cannot write: {type(exc).__name__}",
        retry_after=UNAVAILABLE_RETRY_AFTER,
    )
