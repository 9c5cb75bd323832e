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

This module assembles the store from one mixin per job (events and idempotency, subscriptions,
admission under `max_pending`, the delivery queue, delivery reports, dead letters, housekeeping,
history, and the rest beside it) and keeps what they share: the lifecycle (`open`, `close`), the
writer and reader threads with the writer's hooks (`_reload`, `_follow_other_writers`), and
`_notify`, which wakes this process's dispatchers. The PostgreSQL store is cut the same way, module
for module.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ccbridge.core.event import Subscription
from ccbridge.core.ports import Clock, Router
from ccbridge.core.times import SystemClock
from ccbridge.errors import Unavailable
from ccbridge.stores.sqlite.admission import SqliteAdmission
from ccbridge.stores.sqlite.connector_leases import SqliteConnectorLeases
from ccbridge.stores.sqlite.deadletter_removal import SqliteDeadLetterRemoval
from ccbridge.stores.sqlite.deadletters import SqliteDeadLetters
from ccbridge.stores.sqlite.delivery_queue import SqliteDeliveryQueue
from ccbridge.stores.sqlite.delivery_reports import SqliteDeliveryReports
from ccbridge.stores.sqlite.events import SqliteEvents
from ccbridge.stores.sqlite.health import SqliteEndpointHealth
from ccbridge.stores.sqlite.history import SqliteHistory
from ccbridge.stores.sqlite.housekeeping import SqliteHousekeeping
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
from ccbridge.stores.sqlite.subscriptions import SqliteSubscriptions, subscriptions_version
from ccbridge.stores.sqlite.writer import SerialExecutor, connect


class SqliteStore(
    SqliteEvents,
    SqliteAdmission,
    SqliteSubscriptions,
    SqliteDeliveryQueue,
    SqliteDeliveryReports,
    SqliteDeadLetters,
    SqliteHousekeeping,
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
        """Returns once the writer's last batch (everything submitted before) has committed; waits
        for both threads without blocking the event loop. Calls made after it raise `Unavailable`."""
        if self._open:
            self._open = False
            await asyncio.gather(self._writer.stop(), self._reader.stop())

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
        if subscriptions_version(conn) != self._subs_version:
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
