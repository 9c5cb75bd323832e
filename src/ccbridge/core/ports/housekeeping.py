"""Retention: `Housekeeping`, what the housekeeper removes so the store does not only grow.

Contracts: expired dead letters go by their subscription's `retention_days` and idempotency records
past their window are forgotten; history retention removes delivered and cancelled deliveries, then
events no delivery refers to, and never touches pending deliveries or dead letters. The store-wide
contract of `ccbridge.core.ports` applies.
"""

from __future__ import annotations

from typing import Protocol


class Housekeeping(Protocol):
    """Retention: what the housekeeper removes so the store does not only grow."""

    async def purge_expired(self) -> int:
        """Apply each subscription's dead-letter `retention_days`, forget idempotency records past
        their window and rate-limiter rows long past (`core.rate_limit.stale_before`: they answer as
        no row would); returns the dead letters removed."""
        ...

    async def purge_history(self, older_than: float) -> tuple[int, int]:
        """Remove delivered and cancelled deliveries last changed before `older_than`, then events
        received before it that no delivery refers to. Pending deliveries and dead letters are never
        touched. Returns (deliveries, events) removed."""
        ...
