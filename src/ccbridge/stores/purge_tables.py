"""The tables housekeeping purges in key-order pages, the same on every SQL store.

Each is walked by its primary key, one page of keys per writer job or transaction, deleting the
rows whose time column is before the cutoff; no index on the time column is needed, so the
writes that keep these tables current pay nothing for their purge."""

from __future__ import annotations

from dataclasses import dataclass

from ccbridge.core.rate_limit import stale_before
from ccbridge.core.times import IDEMPOTENCY_WINDOW


@dataclass(frozen=True, slots=True)
class PagedTable:
    """A table purged by key-order pages: its name, primary-key columns and the time column compared
    with the cutoff."""

    name: str
    keys: tuple[str, ...]
    ts: str


IDEMPOTENCY = PagedTable("idempotency", ("scope", "key"), "created_ts")
RATE_TABLES = (PagedTable("rate_tokens", ("key",), "tat"), PagedTable("rate_slots", ("key",), "tat"))
"""The rate limiters' tables, one `tat` per key: `RateLimits` and `EndpointHealth.take_rate_slot`."""


def paged_purges(now: float) -> tuple[tuple[PagedTable, float], ...]:
    """Each paged table with its cutoff at `now`: idempotency records past their window, then the rate
    limiters' rows long past (`core.rate_limit.stale_before`)."""
    return ((IDEMPOTENCY, now - IDEMPOTENCY_WINDOW), *((table, stale_before(now)) for table in RATE_TABLES))
