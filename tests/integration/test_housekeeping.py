"""The housekeeper applies the retention rules on its own, on a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ccbridge.core.event import Event
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.stores.housekeeping import Housekeeper
from ccbridge.stores.sqlite import SqliteStore


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def event(n: int) -> Event:
    return Event(
        id=f"evt-{n}",
        type="nobody.listens",
        source="test",
        time="2026-11-24T10:00:00Z",
        data={"n": n},
        dialect="cxone",
        correlation_id=f"c-{n}",
        received_at="2026-11-24T10:00:00Z",
    )


async def test_events_past_retention_are_removed_by_the_running_housekeeper(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), now=clock)
    await store.open()
    keeper = Housekeeper(store, retention_days=2, interval=0.02, first_run=0, now=clock)
    try:
        await store.append_event(event(1))
        clock.t += 3 * 86400
        await store.append_event(event(2))
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
