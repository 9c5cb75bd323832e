"""What every connector is, and what it is given: the seam between the runner and the platforms.

A connector reads one platform surface (a Genesys notification channel set, a CXone agent session
set) and hands what it reads to an `EventSink`, which stores it through the same path as every
other event (`core.accept.accept`, then `EventLog.append_event`), idempotent by the platform's own
event id: a connector that re-reads a message after a reconnect stores it once.

The runner (`connectors.runner`) holds a lease in the store per connector name so that, across
replicas, exactly one process runs a given connector; it calls `run` while it holds the lease and
sets `stop` when it loses it or the server stops. `run` returns only when `stop` is set; transient
failures (drops, 429, 5xx, expired tokens) are the connector's to retry with backoff, reporting
every window with no live subscription through `EventSink.gap`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class EventSink(Protocol):
    async def deliver(
        self,
        *,
        connector: str,
        event_type: str,
        data: Any,
        platform_id: str,
        time: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> bool:
        """Store one platform event; `platform_id` (the platform's event id, or a stable hash of the
        message when it has none) is the idempotency key within `connector`. True when stored now,
        False when it was already stored. Raises only when the store cannot take it (the connector
        keeps the message and retries; it never drops one it has read)."""
        ...

    async def gap(self, *, connector: str, topics: Sequence[str], start: float, end: float) -> None:
        """Store the operational event `ccbridge.connector.gap` for a window [start, end] (epoch
        seconds) in which `topics` had no live subscription, so consumers can back-fill."""
        ...


class Connector(Protocol):
    """One configured connector instance (`connectors.genesys[i]`, `connectors.cxone[i]`)."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str:
        """ "genesys" or "cxone"."""
        ...

    async def run(self, sink: EventSink, stop: asyncio.Event) -> None:
        """Read the platform until `stop` is set, then close every channel and return."""
        ...

    def status(self) -> dict[str, Any]:
        """What `GET /api/v2/connectors` shows for it: JSON-ready, never a secret. Keys: `state`
        (connecting | connected | backoff | stopped), `lastMessageAt`, `lastGap`, `tokenExpiresAt`,
        and the kind's own (`channels` with their topics for Genesys, `sessions` for CXone)."""
        ...
