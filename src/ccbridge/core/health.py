"""A subscription's delivery state, from its delivery counts (`GET .../delivery-status`)."""

from __future__ import annotations

from typing import Literal

from ccbridge.core.ports import DeliveryCounts
from ccbridge.core.times import RECENT_WINDOW

DeliveryState = Literal["active", "degraded", "failing"]


def delivery_state(counts: DeliveryCounts, now: float) -> DeliveryState:
    """active: nothing failing; degraded: retries or recent failures beside successes;
    failing: the latest attempt failed and nothing succeeded in the last `RECENT_WINDOW` seconds."""
    recent_success = counts.last_success_ts is not None and counts.last_success_ts > now - RECENT_WINDOW
    if counts.last_error and not recent_success:
        return "failing"
    if counts.retrying or counts.recent_failures:
        return "degraded"
    return "active"
