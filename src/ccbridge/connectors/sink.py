"""`StoreSink`: the `EventSink` connectors hand what they read to, storing it like any other event.

Each platform event goes through `core.accept.accept` (a fresh id, the server's `received_at`) and
`EventLog.append_event`, so it is routed and fanned out in the same commit as every event that
arrives over HTTP. Its idempotency key is `connector:<name>:<platform_id>` (a platform id longer
than `MAX_PLATFORM_ID` characters is replaced by its SHA-256), so a message read twice (the overlap
of two channels, a re-read after a reconnect) is stored once within the store's idempotency window.

Gaps become the operational event `ccbridge.connector.gap` with data `{connector, topics, from,
to}` (RFC 3339 times), keyed by connector and window so a retried gap is stored once too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ccbridge.core.accept import accept
from ccbridge.core.envelopes import Envelope
from ccbridge.core.ids import uuid4_str
from ccbridge.core.ports import EventLog
from ccbridge.core.times import iso

GAP_TYPE = "ccbridge.connector.gap"
DIALECT = "connector"
MAX_PLATFORM_ID = 200


def idempotency_key(connector: str, platform_id: str) -> str:
    """`connector:<name>:<platform_id>`, the id hashed when long (keys stay under 255 characters)."""
    if len(platform_id) > MAX_PLATFORM_ID:
        platform_id = "sha256:" + hashlib.sha256(platform_id.encode()).hexdigest()
    return f"connector:{connector}:{platform_id}"


class StoreSink:
    """The `EventSink` over an `EventLog`. `sources` names each connector's event `source` (default
    `connector/<name>`); `now` is the wall clock in epoch seconds."""

    def __init__(
        self, log: EventLog, now: Callable[[], float], sources: Mapping[str, str] | None = None
    ) -> None:
        self._log = log
        self._now = now
        self._sources = dict(sources or {})

    def source(self, connector: str) -> str:
        return self._sources.get(connector, f"connector/{connector}")

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
        now = self._now()
        envelope = Envelope(event_type, time or iso(now), self.source(connector), data, DIALECT)
        event = accept(
            envelope,
            received_at=now,
            correlation_id=uuid4_str(),
            idempotency_key=idempotency_key(connector, platform_id),
            metadata={**(metadata or {}), "connector": connector, "platformId": platform_id},
        )
        return (await self._log.append_event(event)).created

    async def gap(self, *, connector: str, topics: Sequence[str], start: float, end: float) -> None:
        data = {"connector": connector, "topics": list(topics), "from": iso(start), "to": iso(end)}
        await self.deliver(
            connector=connector,
            event_type=GAP_TYPE,
            data=data,
            platform_id=f"gap:{start:.3f}:{end:.3f}",
            time=iso(end),
        )
