"""Accepting an event: the one place an `Event` is made from what a caller sent.

Every way in (`POST /api/v2/eventbridge/events`, inbound platform webhooks, the legacy `/ingest`
gateway) first checks its own shape into an `Envelope`, then calls `accept`. So every stored event
gets a fresh random id whatever the caller supplied (a caller's own identity for the event is its
idempotency key, never its id) and `received_at` is the server's clock in the API's time format.

`received_iso` formats that clock reading as `times.iso` does, but builds the `datetime` only when
the second changes (events at volume arrive many per second; the datetime and its `isoformat` are a
measurable share of the event loop's time per request).
"""

from __future__ import annotations

import math
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
        received_at=received_iso(received_at),
        idempotency_key=idempotency_key,
        metadata=dict(metadata or {}),
    )


_second: list[tuple[float, str]] = [(math.nan, "")]
"""The last whole second `received_iso` formatted, and its text up to the seconds."""


def received_iso(ts: float) -> str:
    """`times.iso(ts)`, the same text for every `ts`: microseconds rounded half-even as
    `datetime.fromtimestamp` rounds them, then cut to milliseconds."""
    frac, whole = math.modf(ts)
    micros = round(frac * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    elif micros < 0:
        whole, micros = whole - 1, micros + 1_000_000
    cached, prefix = _second[0]
    if cached != whole:
        prefix = iso(whole)[:-5]  # `2026-12-03T10:45:03`, less `.000Z`
        _second[0] = (whole, prefix)
    return f"{prefix}.{micros // 1000:03d}Z"
