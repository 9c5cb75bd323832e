"""Accepting an event: the one place an `Event` is made from what a caller sent.

Every way in (`POST /api/v2/eventbridge/events`, inbound platform webhooks, the legacy `/ingest`
gateway) first checks its own shape into an `Envelope`, then calls `accept`. So every stored event
gets a fresh random id whatever the caller supplied (a caller's own identity for the event is its
idempotency key, never its id) and `received_at` is the server's clock in the API's time format.
"""

from __future__ import annotations

from collections.abc import Mapping

from ccbridge.core.envelopes import Envelope
from ccbridge.core.event import Event
from ccbridge.core.ids import uuid4_str
from ccbridge.core.times import iso


def accept(
    envelope: Envelope,
    *,
    received_at: float,
    correlation_id: str,
    idempotency_key: str | None,
    metadata: Mapping[str, str] | None = None,
) -> Event:
    """The event to store for `envelope`, received at `received_at` (epoch seconds)."""
    return Event(
        id=uuid4_str(),
        type=envelope.type,
        source=envelope.source,
        time=envelope.time,
        data=envelope.data,
        dialect=envelope.dialect,
        correlation_id=correlation_id,
        received_at=iso(received_at),
        idempotency_key=idempotency_key,
        metadata=dict(metadata or {}),
    )
