"""The harness of the Genesys connector tests: a fake Genesys, a real SQLite store behind the real
`StoreSink`, and the connector running until the test is done."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ccbridge.config.connectors import GenesysConnectorConfig
from ccbridge.connectors.genesys import GenesysConnector
from ccbridge.connectors.sink import GAP_TYPE, StoreSink
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing.genesys import FakeGenesys
from ccbridge.testing.server import wait_until

QUEUE_TOPIC = "v2.routing.queues.{id}.conversations"


def genesys_config(fake: FakeGenesys, **extra: Any) -> GenesysConnectorConfig:
    values: dict[str, Any] = {
        "name": "gc-test",
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "topics": [{"topic": QUEUE_TOPIC, "ids": ["q-1", "q-2"]}],
        "api_url": fake.url,
        "login_url": fake.url,
        "heartbeat_timeout_seconds": 1.0,
    }
    return GenesysConnectorConfig.model_validate(values | extra)


@dataclass
class Recorder:
    """The waits the connector chose (its `sleep`), each then taken as a zero-length pause."""

    waits: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@dataclass
class Harness:
    fake: FakeGenesys
    store: SqliteStore
    connector: GenesysConnector
    recorder: Recorder
    path: Path

    def events(self) -> list[dict[str, Any]]:
        """Every stored event, oldest first, read straight from the SQLite file."""
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            rows = conn.execute(
                "SELECT type, data, metadata, idempotency_key, source FROM events ORDER BY seq"
            ).fetchall()
        return [
            {
                "type": r[0],
                "data": orjson.loads(r[1]),
                "metadata": orjson.loads(r[2]),
                "key": r[3],
                "source": r[4],
            }
            for r in rows
        ]

    def gaps(self) -> list[dict[str, Any]]:
        return [e["data"] for e in self.events() if e["type"] == GAP_TYPE]

    def notifications(self) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["type"] != GAP_TYPE]

    async def until(self, predicate: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        async def check() -> bool:
            return bool(predicate())

        assert await wait_until(check, timeout=timeout), "the condition did not come about in time"

    async def subscribed(self, channels: int = 1) -> None:
        """Until the connector reports `channels` subscribed channels and is connected."""
        await self.until(
            lambda: (
                self.connector.status()["state"] == "connected"
                and sum(c["state"] == "subscribed" for c in self.connector.status()["channels"]) == channels
            )
        )


@contextlib.asynccontextmanager
async def running(tmp_path: Path, fake: FakeGenesys, **extra: Any) -> AsyncIterator[Harness]:
    path = tmp_path / "store.db"
    store = SqliteStore(str(path), SubscriptionRouter())
    await store.open()
    recorder = Recorder()
    connector = GenesysConnector(genesys_config(fake, **extra), sleep=recorder.sleep, backoff=(0.05, 0.5))
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(connector.run(StoreSink(store, time.time), stop))
    try:
        yield Harness(fake, store, connector, recorder, path)
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await task
        await store.close()
