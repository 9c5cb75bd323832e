"""Two runners (two replicas) on one PostgreSQL: a connector runs in exactly one of them at a time,
moves on a graceful stop and on a holder that lost its store, and each handover's window is a gap."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from genesys_support import QUEUE_TOPIC, genesys_config

from ccbridge.connectors.base import EventSink
from ccbridge.connectors.genesys import GenesysConnector
from ccbridge.connectors.runner import ConnectorRunner
from ccbridge.connectors.sink import GAP_TYPE, StoreSink
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.stores.postgres import PostgresStore
from ccbridge.testing.genesys import FakeGenesys
from ccbridge.testing.server import wait_until

URL = os.environ.get("CCBRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
Q1 = "v2.routing.queues.q-1.conversations"


class Watched:
    """A real GenesysConnector whose `run` intervals (by runner) are recorded in a shared list."""

    def __init__(self, inner: GenesysConnector, who: str, runs: list[list[Any]]) -> None:
        self.inner, self.who, self.runs = inner, who, runs
        self.name, self.kind = inner.name, inner.kind

    async def run(self, sink: EventSink, stop: asyncio.Event) -> None:
        entry: list[Any] = [self.who, time.monotonic(), None, time.time(), None]
        self.runs.append(entry)
        try:
            await self.inner.run(sink, stop)
        finally:
            entry[2], entry[4] = time.monotonic(), time.time()

    def status(self) -> dict[str, Any]:
        return self.inner.status()


async def _rows(schema: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(URL)
    try:
        return list(await conn.fetch(sql.replace("{s}", schema)))
    finally:
        await conn.close()


async def test_two_runners_never_both_run_a_connector(schema: str) -> None:
    """Across a graceful stop and a holder cut off from the store, the connector's runs never overlap,
    every message is stored once, and the windows between holders are inside reported gaps."""
    runs: list[list[Any]] = []
    async with FakeGenesys(heartbeat_seconds=0.2) as fake:
        stores = [PostgresStore(URL, SubscriptionRouter(), schema=schema) for _ in range(2)]
        for s in stores:
            await s.open()
        runners = [
            ConnectorRunner(
                s,
                [Watched(GenesysConnector(genesys_config(fake), backoff=(0.05, 0.5)), who, runs)],
                StoreSink(s, time.time),
                owner=who,
                lease_seconds=1.2,
                renew_seconds=0.25,
            )
            for who, s in zip(("a", "b"), stores, strict=True)
        ]
        for r in runners:
            r.start()

        async def runs_open(n: int) -> bool:
            return len(runs) == n and runs[-1][2] is None and fake.subscribed(Q1) == 1

        assert await wait_until(lambda: runs_open(1))
        first = runners[0] if runs[0][0] == "a" else runners[1]
        second = runners[1] if first is runners[0] else runners[0]
        await fake.publish(Q1, {"id": "before"})

        async def notifications(n: int) -> bool:
            return len(await _rows(schema, f"SELECT 1 FROM {{s}}.events WHERE type = '{QUEUE_TOPIC}'")) == n

        assert await wait_until(lambda: notifications(1))
        await first.stop()  # graceful: released, the other takes it within a renewal interval
        assert await wait_until(lambda: runs_open(2))
        await fake.publish(Q1, {"id": "between"})
        assert await wait_until(lambda: notifications(2))
        await stores[runners.index(second)].close()  # cut off: it must stop before its lease expires
        first.start()
        assert await wait_until(lambda: runs_open(3), timeout=15)
        await fake.publish(Q1, {"id": "after"})

        async def stored() -> bool:
            rows = await _rows(schema, "SELECT type FROM {s}.events")
            return bool(
                sum(r["type"] == QUEUE_TOPIC for r in rows) == 3
                and sum(r["type"] == GAP_TYPE for r in rows) >= 1
            )

        assert await wait_until(stored, timeout=10)
        for r in runners:
            await r.stop()
        await stores[runners.index(first)].close()
    spans = sorted((start, end) for _, start, end, _, _ in runs)
    assert all(end is not None for _, end in spans)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1)), spans
    assert [r[0] for r in runs] == [first.owner, second.owner, first.owner]
    rows = await _rows(schema, "SELECT data FROM {s}.events WHERE type = 'ccbridge.connector.gap'")
    gaps = [orjson.loads(r["data"]) for r in rows]
    assert all(g["connector"] == "gc-test" and Q1 in g["topics"] for g in gaps)
    # the holder cut off from the store could not report its handover: the next holder's gap runs
    # from the last cover it finds stored (the first run's), across both handovers
    windows = [
        (datetime.fromisoformat(g["from"]).timestamp(), datetime.fromisoformat(g["to"]).timestamp())
        for g in gaps
    ]
    assert any(start <= runs[0][4] and end >= runs[2][3] for start, end in windows), (windows, runs)


async def test_a_graceful_handover_is_reported_as_one_gap(tmp_path: Any) -> None:
    """A holder stopping releases the lease; the next holder reports the window from the last
    instant the old one covered to its own first subscription as a gap."""
    from ccbridge.stores.sqlite import SqliteStore

    async with FakeGenesys(heartbeat_seconds=0.2) as fake:
        stores = [SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter()) for _ in range(2)]
        for s in stores:
            await s.open()
        connectors = [GenesysConnector(genesys_config(fake), backoff=(0.05, 0.5)) for _ in range(2)]
        runners = [
            ConnectorRunner(
                s, [c], StoreSink(s, time.time), owner=f"r{i}", lease_seconds=1.2, renew_seconds=0.25
            )
            for i, (s, c) in enumerate(zip(stores, connectors, strict=True))
        ]
        runners[0].start()
        assert await wait_until(lambda: _connected(connectors[0]))
        runners[1].start()
        await runners[0].stop()
        assert await wait_until(lambda: _connected(connectors[1]))

        async def one_gap() -> bool:
            return len([e for e in await _events(tmp_path) if e[0] == GAP_TYPE]) == 1

        assert await wait_until(one_gap)
        await runners[1].stop()
        [lease] = await stores[0].connector_leases()
        assert lease.owner is None and lease.status["state"] == "stopped"
        for s in stores:
            await s.close()
    [gap] = [orjson.loads(e[1]) for e in await _events(tmp_path) if e[0] == GAP_TYPE]
    until = datetime.fromisoformat(gap["from"]).timestamp()
    assert until <= datetime.fromisoformat(gap["to"]).timestamp()
    assert gap["topics"] == [Q1, "v2.routing.queues.q-2.conversations"]


async def _connected(connector: GenesysConnector) -> bool:
    return bool(connector.status()["connected"])


async def _events(folder: Any) -> list[Any]:
    import sqlite3

    with sqlite3.connect(folder / "store.db") as conn:
        return conn.execute("SELECT type, data FROM events ORDER BY seq").fetchall()


class Probe:
    """A connector that only records whether it is running (for the runner's own rules)."""

    kind = "probe"

    def __init__(self, name: str) -> None:
        self.name = name
        self.running = False
        self.runs = 0

    async def run(self, sink: EventSink, stop: asyncio.Event) -> None:
        self.running, self.runs = True, self.runs + 1
        try:
            await stop.wait()
        finally:
            self.running = False

    def status(self) -> dict[str, Any]:
        return {"state": "connected" if self.running else "stopped"}


async def test_a_refused_renewal_stops_the_connector_at_once(tmp_path: Any) -> None:
    """When another owner took the lease (this one's expired by the store's clock), the next renewal
    is refused and the connector is stopped; the runner then waits for the lease to be free."""
    from ccbridge.stores.sqlite import SqliteStore
    from ccbridge.testing.clock import ManualClock

    clock = ManualClock()
    store = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=clock)
    await store.open()
    probe = Probe("p")
    runner = ConnectorRunner(
        store, [probe], StoreSink(store, clock.now), owner="mine", lease_seconds=3, renew_seconds=0.1
    )
    runner.start()
    try:
        assert await wait_until(lambda: _true(probe.running))
        clock.advance(10)  # the lease expires by the store's clock; another replica takes it
        assert await store.acquire_connector("p", "theirs", 3600)
        # the connector stops first; the runner forgets the lease once its run has returned
        assert await wait_until(lambda: _true(not probe.running and "p" not in runner.holding))
        [lease] = await store.connector_leases()
        assert lease.owner == "theirs" and probe.runs == 1
        await store.release_connector("p", "theirs")
        assert await wait_until(lambda: _true(probe.running))  # free again: this runner takes it back
        assert probe.runs == 2
    finally:
        await runner.stop()
        await store.close()
    assert not probe.running


async def _true(value: bool) -> bool:
    return value
