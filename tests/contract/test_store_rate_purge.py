"""Housekeeping forgets rate-limiter rows that mean the same as no row, on every backend.

Both rate tables keep one theoretical arrival time (`tat`) per key: `rate_tokens` (the ingest
gateway's `RateLimits`, `core.rate_limit`) and `rate_slots` (an endpoint's `rateLimitPerSecond`,
`core.endpoint_health.rate_slot`). Without a purge they keep a row for every key ever seen. A `tat`
well in the past answers exactly as no row, so `purge_expired` deletes those and nothing else. No
port can tell such a row from no row, which is the point, so the tables are read directly
(`Backend.read`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_backends import Backend

from ccbridge.core.ports import Store
from ccbridge.testing.clock import ManualClock


async def _keys(backend: Backend, place: Path, table: str) -> list[str]:
    return [row[0] for row in await backend.read(place, f"SELECT key FROM {table} ORDER BY key")]


async def test_housekeeping_forgets_rate_rows_long_past_and_keeps_the_live_ones(
    store: Store, clock: ManualClock, backend: Backend, place: Path
) -> None:
    """Keys last used an hour ago go; keys whose budget is spent stay and stay spent; keys only a
    second past stay too (a margin for clocks that differ a little between processes)."""
    await store.take_rate_token("ingest:gone", 1, 1)
    await store.take_rate_slot("gone", 1)
    clock.advance(3600)
    await store.take_rate_token("ingest:idle", 1, 1)  # its tat is now + 1 s ...
    await store.take_rate_slot("idle", 1)
    clock.advance(2)  # ... and 1 s in the past from here
    assert [await store.take_rate_token("ingest:live", 1, 2) for _ in range(3)] == [
        0.0,
        0.0,
        pytest.approx(1.0),
    ]
    assert [await store.take_rate_slot("live", 1) for _ in range(2)] == [0.0, pytest.approx(1.0)]

    assert await store.purge_expired() == 0  # the count is of dead letters; there are none

    assert await _keys(backend, place, "rate_tokens") == ["ingest:idle", "ingest:live"]
    assert await _keys(backend, place, "rate_slots") == ["idle", "live"]
    assert await store.take_rate_token("ingest:live", 1, 2) == pytest.approx(1.0)
    assert await store.take_rate_slot("live", 1) == pytest.approx(2.0)
    assert await store.take_rate_token("ingest:gone", 1, 1) == 0.0  # afresh, as it would be anyway
    assert await store.take_rate_slot("gone", 1) == 0.0


async def test_a_purge_with_nothing_stale_keeps_every_row(
    store: Store, clock: ManualClock, backend: Backend, place: Path
) -> None:
    keys = [f"k{n:03d}" for n in range(40)]
    for key in keys:
        await store.take_rate_token(key, 1, 1)
        await store.take_rate_slot(key, 1)
    await store.purge_expired()
    assert await _keys(backend, place, "rate_tokens") == keys
    assert await _keys(backend, place, "rate_slots") == keys
