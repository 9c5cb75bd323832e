"""`ConnectorRunner`: runs each configured connector in exactly one process across replicas.

For each connector it holds the lease of its name (`ConnectorLeases`) and runs `Connector.run`
only while it holds it. Every `renew_seconds` it renews the lease for `lease_seconds`, storing the
connector's `status()` with it (so any replica answers the status route). It sets the connector's
`stop`, waits for it to close its channels and only then releases the lease:

- when a renewal is refused (another process holds it: this one was too slow), at once;
- when renewals fail (the store is unreachable) until less than one renewal interval of the
  lease is left by this process's monotonic clock, so it stops before anyone else may take over;
- when the connector's `run` returns or raises (it is logged and started again after a pause).

The window between two holders (a restart, a crash, a failover) is a gap too: the status a
connector reports carries `coveredUntil` (the latest instant every topic was subscribed) and
`coveredSince` (since when they all have been, without a break). A new holder that finds an earlier
`coveredUntil` in the stored status reports the gap from it to its own `coveredSince` through
`EventSink.gap` once it is covered, and keeps the earlier `coveredUntil` in the status it stores
until then, so a holder that dies before reporting it passes the gap on.

Processes that do not hold a lease try to take it every `renew_seconds`, so a crashed holder's
connector moves to another replica within `lease_seconds + renew_seconds`. `lease_seconds` must
exceed two renewal intervals. Clocks of replicas are assumed to agree to well within that margin.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from ccbridge.connectors.base import Connector, EventSink
from ccbridge.core.ids import uuid4_str
from ccbridge.core.ports import ConnectorLeases

log = structlog.get_logger("ccbridge.connectors")

STOP_GRACE_SECONDS = 10.0


def default_owner() -> str:
    """This process, as lease owner: host, pid and a random suffix (a restarted pid is another owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid4_str()[:8]}"


class ConnectorRunner:
    """Starts (`start`) and stops (`stop`) one lease-holding task per connector."""

    def __init__(
        self,
        leases: ConnectorLeases,
        connectors: Sequence[Connector],
        sink: EventSink,
        *,
        owner: str | None = None,
        lease_seconds: float = 15.0,
        renew_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if lease_seconds <= 2 * renew_seconds:
            raise ValueError("lease_seconds must exceed two renewal intervals")
        self.leases = leases
        self.connectors = list(connectors)
        self.sink = sink
        self.owner = owner or default_owner()
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self._monotonic = monotonic
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.holding: set[str] = set()
        self._uncovered: dict[str, float | None] = {}  # a previous holder's coveredUntil, not yet reported

    def start(self) -> None:
        self._stopping.clear()
        self._tasks = [
            asyncio.get_running_loop().create_task(self._keep(c), name=f"connector-{c.name}")
            for c in self.connectors
        ]

    async def stop(self) -> None:
        """Stop every connector and release its lease (the next replica need not wait for expiry)."""
        self._stopping.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _keep(self, connector: Connector) -> None:
        """Take the lease whenever it is free and run the connector while it is held."""
        while not self._stopping.is_set():
            try:
                held = await self.leases.acquire_connector(connector.name, self.owner, self.lease_seconds)
            except Exception as exc:
                log.warning("connector_lease_unavailable", connector=connector.name, error=str(exc))
                held = False
            if held:
                await self._run_while_held(connector)
            await self._pause(self.renew_seconds)

    async def _run_while_held(self, connector: Connector) -> None:
        name = connector.name
        self.holding.add(name)
        log.info("connector_lease_taken", connector=name, owner=self.owner)
        held_until = self._monotonic() + self.lease_seconds
        self._uncovered[name] = await self._previous_cover(name)
        stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(connector.run(self.sink, stop))
        try:
            while not self._stopping.is_set() and not task.done():
                stopping = asyncio.ensure_future(self._stopping.wait())
                await asyncio.wait(
                    {task, stopping}, timeout=self.renew_seconds, return_when="FIRST_COMPLETED"
                )
                stopping.cancel()
                if self._stopping.is_set() or task.done():
                    break
                renewed = await self._renew(connector)
                if renewed:
                    held_until = self._monotonic() + self.lease_seconds
                elif renewed is False:
                    log.warning("connector_lease_lost", connector=name, owner=self.owner)
                    break
                elif self._monotonic() > held_until - self.renew_seconds:
                    log.warning("connector_lease_unconfirmed", connector=name, owner=self.owner)
                    break
        finally:
            stop.set()
            await self._finish(connector, task)
            self.holding.discard(name)

    async def _previous_cover(self, name: str) -> float | None:
        try:
            rows = {lease.name: lease for lease in await self.leases.connector_leases()}
        except Exception:
            return None
        until = rows[name].status.get("coveredUntil") if name in rows else None
        return float(until) if isinstance(until, int | float) else None

    async def _status(self, connector: Connector) -> dict[str, Any]:
        """The connector's status, after reporting the handover gap once it is covered again."""
        status = connector.status()
        until, since = self._uncovered.get(connector.name), status.get("coveredSince")
        if until is not None and isinstance(since, int | float):
            if since > until:
                await self.sink.gap(
                    connector=connector.name, topics=covered_topics(status), start=until, end=float(since)
                )
            self._uncovered[connector.name] = None
        elif until is not None and status.get("coveredUntil") is None:
            status["coveredUntil"] = until
        return status

    async def _renew(self, connector: Connector) -> bool | None:
        """True renewed, False refused (lost), None when the store could not be asked."""
        try:
            return await self.leases.renew_connector(
                connector.name, self.owner, self.lease_seconds, await self._status(connector)
            )
        except Exception as exc:
            log.warning("connector_lease_renewal_failed", connector=connector.name, error=str(exc))
            return None

    async def _finish(self, connector: Connector, task: asyncio.Task[None]) -> None:
        """Wait for `run` to close its channels (cancel it past the grace), then release the lease."""
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error("connector_failed", connector=connector.name, error_type=type(error).__name__)
        try:
            await self.leases.release_connector(connector.name, self.owner, await self._status(connector))
        except Exception as exc:
            log.warning("connector_lease_release_failed", connector=connector.name, error=str(exc))
        log.info("connector_lease_released", connector=connector.name, owner=self.owner)


def covered_topics(status: dict[str, Any]) -> list[str]:
    """What a connector's status says it covers: its channels' topics (Genesys), else `topicNames`
    (a connector kind with no channels names what it follows there)."""
    found = [str(t) for ch in status.get("channels") or [] for t in ch.get("topics") or []]
    return found or [str(t) for t in status.get("topicNames") or []]
