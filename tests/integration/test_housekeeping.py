"""The housekeeper applies the retention rules on its own, on a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ccbridge.core.routing import SubscriptionRouter
from ccbridge.stores.housekeeping import Housekeeper
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event


async def test_events_past_retention_are_removed_by_the_running_housekeeper(tmp_path: Path) -> None:
    clock = ManualClock()
    store = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=clock)
    await store.open()
    keeper = Housekeeper(store, retention_days=2, interval=0.02, first_run=0, clock=clock)
    try:
        await store.append_event(sample_event(1, type_="nobody.listens"))
        clock.t += 3 * 86400
        await store.append_event(sample_event(2, type_="nobody.listens"))
        keeper.start()
        for _ in range(200):
            if await store.get_event("evt-1") is None:
                break
            await asyncio.sleep(0.01)
        assert await store.get_event("evt-1") is None
        assert await store.get_event("evt-2") is not None
        assert await store.count_events() == 1
    finally:
        await keeper.stop()
        await store.close()
