"""Retention: `Housekeeping`, what the housekeeper removes so the store does not only grow.

Contracts: expired dead letters go by their subscription's `retention_days` and idempotency records
past their window are forgotten; history retention removes delivered and cancelled deliveries, then
events no delivery refers to, and never touches pending deliveries or dead letters; finished replay
jobs go after the same window as history, queued and running ones never. Every purge works in
bounded pages (one transaction, or writer job, each), so a backlog of any size never holds the
store's write lock or a transaction for long, and where several processes share one database they
take turns (one purges at a time) rather than deleting the same rows. The store-wide contract of
`ccbridge.core.ports` applies.
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

    async def purge_replays(self, older_than: float) -> int:
        """Remove succeeded and failed replay jobs that finished before `older_than` (the housekeeper
        passes the history cutoff, `store.retention_days`), with their record of what they queued;
        queued and running jobs are never touched, however old. The deliveries a job queued are
        ordinary deliveries and stay. Returns the jobs removed."""
        ...
