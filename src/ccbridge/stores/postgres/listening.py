"""What other replicas tell the PostgreSQL store: one dedicated LISTEN session, kept open across drops.

Replicas sharing a schema `NOTIFY` two channels: due deliveries were committed (wake this replica's
dispatchers) and subscriptions changed (refresh the compiled cache now rather than in the next
append's transaction). A notification whose payload is this store's own instance id is ignored: the
store already acted on its own commit.

Why the session is watched: a session the database ended (a restart, a failover, an idle timeout,
`pg_terminate_backend`) or that the network silently dropped hears nothing more, and without a
watch the replica would fall back to polling until restarted. Correctness never depended on it
(every append and lease checks the subscriptions version; dispatchers poll), only promptness does.

Contract of `Listener`:
* `start()` connects and LISTENs, raising what the connection raised; then a task (named
  `LISTENER_TASK`) watches the session: asyncpg's termination callback reports a closed session at
  once, and every `check_every` seconds a `SELECT 1` must answer within `check_timeout` (a session
  that carries no bytes any more raises nothing by itself).
* On loss: logged once (`store_listener_lost`, with the reason), then reconnected, immediately and
  then after capped exponential backoff with jitter, until it works or `close()` is called. Once it
  works it LISTENs on both channels again, logs `store_listener_recovered` once (with the attempts
  it took), refreshes the subscriptions and then calls `wake`: the NOTIFYs sent during the gap are
  lost, so whatever they announced is caught up this way. The wake waits for the refresh at most
  `check_timeout`: a refresh held up by a pooled session that stopped answering goes on in the
  background (the store's command timeout ends it) while the dispatchers poll.
* The database appears in log lines only as its URL with credentials masked.
* `close()` cancels the watch and any refresh, waits for them to end and closes the session: no task
  is left and nothing reconnects afterwards.
* `observe(callback)` reports the connected state now and on every change (the metric).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from ccbridge.core.redact import mask_text, mask_url
from ccbridge.errors import Unavailable

log = structlog.get_logger("ccbridge.store")

LISTENER_TASK = "ccbridge-pg-listener"
REFRESH_TASK = "ccbridge-pg-subscriptions-refresh"

# what a failed connect, LISTEN or check raises; anything else is a bug and ends the watch loudly
_RETRIED: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,  # refused: starting up, shutting down, too many connections, login not allowed
    asyncpg.InterfaceError,  # the session is gone
    asyncpg.exceptions.InternalClientError,
    OSError,  # refused, reset, unreachable
    TimeoutError,
)


@dataclass(frozen=True)
class ListenPolicy:
    """How the listen session is watched and reopened (seconds)."""

    first_delay: float = 0.5
    """The ceiling of the wait after the first failed reconnect; it doubles after each further one."""
    max_delay: float = 30.0
    """The cap of that ceiling."""
    check_every: float = 30.0
    """How often the session must answer a `SELECT 1`."""
    check_timeout: float = 10.0
    """How long a check, a connect and the refresh after a reconnect may take."""

    def delay(self, failures: int, draw: Callable[[], float] = random.random) -> float:
        """The wait after `failures` (>= 1) failed attempts in a row: a ceiling doubling from
        `first_delay` up to `max_delay`, of which at least half, the rest drawn at random ("equal
        jitter"), so replicas that lost the database together do not all come back in step."""
        ceiling = min(self.max_delay, self.first_delay * 2.0 ** min(failures - 1, 60))
        return ceiling / 2 + draw() * ceiling / 2


class Listener:
    """The LISTEN session of one store: `due_channel` calls `wake`, `subs_channel` runs `refresh`
    (one at a time; a notification during a run makes it run once more afterwards)."""

    def __init__(
        self,
        url: str,
        settings: Mapping[str, str],
        instance: str,
        due_channel: str,
        subs_channel: str,
        wake: Callable[[], None],
        refresh: Callable[[], Awaitable[None]],
        policy: ListenPolicy | None = None,
    ) -> None:
        self._url = url
        self._settings = dict(settings)
        self._instance = instance
        self._channels = {due_channel: wake, subs_channel: self._heard_subscriptions}
        self._wake = wake
        self._refresh = refresh
        self.policy = policy or ListenPolicy()
        self._database = mask_url(url)
        self._conn: Any = None
        self._lost = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None
        self._refreshing: asyncio.Task[None] | None = None
        self._refresh_again = False
        self._observers: list[Callable[[bool], None]] = []
        self.reconnects = 0
        self.failed_attempts = 0

    @property
    def connected(self) -> bool:
        return self._conn is not None

    @property
    def server_pid(self) -> int | None:
        """The backend pid of the current session (what `pg_terminate_backend` takes), or None."""
        return None if self._conn is None else int(self._conn.get_server_pid())

    @property
    def stats(self) -> dict[str, int]:
        return {
            "listener_connected": int(self.connected),
            "listener_reconnects": self.reconnects,
            "listener_failed_attempts": self.failed_attempts,
        }

    def observe(self, callback: Callable[[bool], None]) -> None:
        """`callback(connected)` now and after every change."""
        self._observers.append(callback)
        callback(self.connected)

    async def start(self) -> None:
        await self._connect()
        self._watch = asyncio.get_running_loop().create_task(self._run(), name=LISTENER_TASK)

    async def close(self) -> None:
        for task in (self._watch, self._refreshing):
            if task is not None:
                task.cancel()
                await asyncio.wait([task])  # ended, whatever it raised; a cancelled close still raises
        self._watch = self._refreshing = None
        conn = self._drop()
        if conn is not None:
            try:
                async with asyncio.timeout(self.policy.check_timeout):
                    await conn.close()
            except _RETRIED:
                conn.terminate()

    # --- the session -----------------------------------------------------------------------------

    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            self._url, server_settings=self._settings, timeout=self.policy.check_timeout
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            for channel, callback in self._channels.items():
                await conn.add_listener(channel, self._hearing(callback))
        except BaseException:
            conn.terminate()
            raise
        self._conn, self._lost = conn, lost
        self._changed()

    def _hearing(self, callback: Callable[[], None]) -> Callable[[Any, int, str, str], None]:
        def heard(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            if payload != self._instance:
                callback()

        return heard

    def _drop(self) -> Any:
        """Forget the session (returned, for closing); observers learn of the change."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._changed()
        return conn

    def _changed(self) -> None:
        for observer in self._observers:
            observer(self.connected)

    # --- the watch -------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            reason = await self._until_lost()
            lost_at = time.monotonic()
            conn = self._drop()
            if conn is not None:
                conn.terminate()
            log.warning("store_listener_lost", reason=reason, database=self._database)
            attempts, last_error = await self._reconnect()
            self.reconnects += 1
            log.info(
                "store_listener_recovered",
                attempts=attempts,
                down_seconds=round(time.monotonic() - lost_at, 3),
                last_error=last_error,
                database=self._database,
            )
            self._heard_subscriptions()  # a task, so that the wait below is bounded however it ends
            if self._refreshing is not None:
                await asyncio.wait({self._refreshing}, timeout=self.policy.check_timeout)
            self._wake()

    async def _until_lost(self) -> str:
        """Returns why the session is deemed lost: it ended, or a check failed."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.policy.check_every):
                    await self._lost.wait()
            if self._lost.is_set():
                return "the session ended"
            try:
                await self._conn.fetchval("SELECT 1", timeout=self.policy.check_timeout)
            except TimeoutError:
                return f"the session did not answer a check within {self.policy.check_timeout:g} s"
            except _RETRIED as exc:
                return _describe(exc)

    async def _reconnect(self) -> tuple[int, str | None]:
        """Connects until it works; returns the attempts it took and the last failure's reason."""
        failures = 0
        last_error: str | None = None
        while True:
            try:
                await self._connect()
                return failures + 1, last_error
            except _RETRIED as exc:
                failures += 1
                self.failed_attempts += 1
                last_error = _describe(exc)
            await asyncio.sleep(self.policy.delay(failures))

    # --- subscription refresh --------------------------------------------------------------------

    def _heard_subscriptions(self) -> None:
        """Another replica changed subscriptions: refresh now, or once more after the running refresh
        (which may have read the version before that change committed)."""
        if self._refreshing is not None and not self._refreshing.done():
            self._refresh_again = True
            return
        self._refreshing = asyncio.get_running_loop().create_task(self._refresh_runs(), name=REFRESH_TASK)

    async def _refresh_runs(self) -> None:
        while True:
            self._refresh_again = False
            with contextlib.suppress(Unavailable):
                await self._refresh()
            if not self._refresh_again:
                return


def _describe(exc: BaseException) -> str:
    return mask_text(f"{type(exc).__name__}: {exc}")[:300]
