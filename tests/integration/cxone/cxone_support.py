"""What the CXone tests share: the connector's config for a fake tenant, sinks (in memory, and one
that stores through the real SQLite store with the idempotency key), a wait that moves a ManualClock
instead of sleeping, and a helper that runs a connector until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from ccbridge.config.connectors import CxoneConnectorConfig
from ccbridge.connectors.cxone import Backoff, CxoneAuth, CxoneConnector, build
from ccbridge.core.accept import accept
from ccbridge.core.envelopes import Envelope
from ccbridge.core.ports import Store
from ccbridge.core.times import iso
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.cxone import FakeCxone
from ccbridge.testing.server import wait_until

GAP_TYPE = "ccbridge.connector.gap"


def cxone_config(fake: FakeCxone, agents: Sequence[str] = ("agent-1",), **extra: Any) -> CxoneConnectorConfig:
    values: dict[str, Any] = {
        "name": "cx-test",
        "access_key_id": fake.credentials[0],
        "access_key_secret": SecretStr(fake.credentials[1]),
        "client_id": fake.client[0],
        "client_secret": SecretStr(fake.client[1]),
        "auth_url": fake.url,
        "agents": list(agents),
        "poll_timeout_seconds": 1,
    }
    values.update(extra)
    return CxoneConnectorConfig(**values)


class ClockWait:
    """The connector's wait: moves the ManualClock by the delay and yields, recording each delay."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, seconds: float, stop: asyncio.Event) -> None:
        self.delays.append(seconds)
        if not stop.is_set():
            self.clock.advance(seconds)
        await asyncio.sleep(0.005)  # a backoff still lets the loop run (the fake, the test)


@dataclass
class MemorySink:
    """An EventSink in memory, idempotent by (connector, platform_id) as the real one is; `fail` makes
    the next deliveries raise as a store that cannot write does."""

    stored: dict[tuple[str, str], tuple[str, Any]] = field(default_factory=dict)
    offered: int = 0
    repeats: int = 0
    gaps: list[dict[str, Any]] = field(default_factory=list)
    fail: int = 0

    async def deliver(
        self,
        *,
        connector: str,
        event_type: str,
        data: Any,
        platform_id: str,
        time: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> bool:
        self.offered += 1
        if self.fail > 0:
            self.fail -= 1
            raise OSError("disk full")
        key = (connector, platform_id)
        if key in self.stored:
            self.repeats += 1
            return False
        self.stored[key] = (event_type, data)
        return True

    async def gap(self, *, connector: str, topics: Sequence[str], start: float, end: float) -> None:
        self.gaps.append({"connector": connector, "topics": list(topics), "from": start, "to": end})

    def data(self) -> list[Any]:
        return [data for _, data in self.stored.values()]


class StoreSink:
    """An EventSink that stores through the real store: `accept`, then `append_event` with the
    idempotency key `<connector>:<platform_id>`, as the connector runner's sink does."""

    def __init__(self, store: Store, clock: ManualClock) -> None:
        self.store = store
        self.clock = clock
        self.created = 0
        self.repeats = 0

    async def deliver(
        self,
        *,
        connector: str,
        event_type: str,
        data: Any,
        platform_id: str,
        time: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> bool:
        now = self.clock.now()
        envelope = Envelope(event_type, time or iso(now), f"cxone/{connector}", data, "cxone")
        event = accept(
            envelope,
            received_at=now,
            correlation_id=platform_id,
            idempotency_key=f"{connector}:{platform_id}",
            metadata=metadata,
        )
        result = await self.store.append_event(event)
        if result.created:
            self.created += 1
        else:
            self.repeats += 1
        return result.created

    async def gap(self, *, connector: str, topics: Sequence[str], start: float, end: float) -> None:
        data = {"connector": connector, "topics": list(topics), "from": iso(start), "to": iso(end)}
        await self.deliver(
            connector=connector, event_type=GAP_TYPE, data=data, platform_id=f"gap:{topics}:{start}"
        )


def make_connector(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait, **config: Any
) -> tuple[CxoneConnector, CxoneAuth]:
    entry = cxone_config(fake, **config)
    auth = CxoneAuth(entry, clock)
    return build(entry, auth, clock=clock, wait=wait, backoff=Backoff(1.0, 30.0)), auth


@contextlib.asynccontextmanager
async def running(connector: CxoneConnector, sink: Any) -> AsyncIterator[asyncio.Event]:
    """Runs the connector in a task; on exit sets stop and waits for `run` to return."""
    stop = asyncio.Event()
    task = asyncio.create_task(connector.run(sink, stop))
    try:
        yield stop
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await task
        await connector.auth.aclose()


async def until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    """Waits (polling the loop) until the plain predicate holds; fails the test after `timeout` s."""

    async def check() -> Any:
        return predicate()

    return await wait_until(check, timeout=timeout)
