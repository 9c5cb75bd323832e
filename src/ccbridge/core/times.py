"""Time formatting and the windows every store applies the same way.

The API answers RFC 3339 UTC strings with millisecond precision and a `Z`; stores keep epoch seconds.
The windows are part of the API's contract, so each store reads them from here rather than choosing
its own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

IDEMPOTENCY_WINDOW = 24 * 3600.0
"""Seconds an idempotency key is remembered: a repeat inside it answers the original."""

RECENT_WINDOW = 15 * 60.0
"""Seconds a delivery failure counts as recent for a subscription's delivery state."""


def iso(ts: float) -> str:
    """Epoch seconds as `2026-12-03T10:45:03.123Z`."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_or_none(ts: float | None) -> str | None:
    return None if ts is None else iso(ts)


class SystemClock:
    """The `Clock` port on the wall clock."""

    def now(self) -> float:
        return time.time()


def epoch_of(text: str) -> float | None:
    """An RFC 3339 string (as `iso` writes them) as epoch seconds; None when it is not one."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None
