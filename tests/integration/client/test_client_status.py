"""Polling delivery-status of the real app until settled: backoff with jitter, the deadline, what is
reported. The poller's clock and sleep are the test's, so nothing waits on wall-clock time."""

from __future__ import annotations

from pathlib import Path

import pytest
from client_support import HOST, Bridge, HeldConsumer, Wire, running_app

from ccbridge.client import BridgeClient
from ccbridge.client.status import is_settled, wait_settled
from ccbridge.testing.server import wait_until

EVENT = {"eventType": "contact.created", "attributes": {"n": 1}, "timestamp": "2026-01-01T00:00:00Z"}


class Clock:
    """A clock that advances only when the poller sleeps; `delays` are the sleeps asked for."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay


async def _subscribe_and_publish(client: BridgeClient, url: str) -> str:
    body = {"name": "s", "eventType": "contact.created", "endpoints": [{"url": url, "type": "webhook"}]}
    sub_id = str((await client.create_subscription(body)).body["id"])
    await client.publish_event(EVENT, idempotency_key="event-1")
    return sub_id


async def test_polls_with_growing_jittered_delays_until_settled(tmp_path: Path) -> None:
    """Delays double from 0.2 s (each within [d/2, d]) and polling stops on the first settled status."""
    clock = Clock()
    async with HeldConsumer() as consumer, running_app(tmp_path, {"delivery": {"enabled": True}}) as app:
        bridge = Bridge(app, Wire({HOST: app.app}), tmp_path)
        async with bridge.client() as client:
            sub_id = await _subscribe_and_publish(client, consumer.url)
            await consumer.arrived.wait()  # the delivery is in flight and held: pending

            async def settled() -> bool:
                return is_settled(await client.delivery_status(sub_id))

            async def sleep(delay: float) -> None:
                await clock.sleep(delay)
                if len(clock.delays) == 3:
                    consumer.release()
                    assert await wait_until(settled)

            (result,) = await wait_settled(client, {"s": sub_id}, 60, sleep=sleep, clock=lambda: clock.now)
    assert result.settled and result.error is None
    assert result.status is not None and result.status["counts"]["delivered"] == 1
    assert len(clock.delays) == 3
    for delay, base in zip(clock.delays, [0.2, 0.4, 0.8], strict=True):
        assert base / 2 <= delay <= base


async def test_gives_up_at_the_deadline_with_the_last_status(bridge: Bridge, client: BridgeClient) -> None:
    """A subscription still pending at the deadline is reported unsettled with its last counts; the
    last sleep is cut to end exactly at the deadline."""
    sub_id = await _subscribe_and_publish(client, "https://consumer.example/hook")  # no dispatcher runs
    clock = Clock()
    (result,) = await wait_settled(client, {"s": sub_id}, 3, sleep=clock.sleep, clock=lambda: clock.now)
    assert not result.settled and result.status is not None and result.status["counts"]["pending"] == 1
    assert result.error == "not settled before the timeout"
    assert sum(clock.delays) == pytest.approx(3.0)
    for delay, base in zip(clock.delays[:-1], [0.2, 0.4, 0.8, 1.6, 3.2], strict=False):
        assert base / 2 <= delay <= base


async def test_an_unknown_subscription_is_reported_not_raised(client: BridgeClient) -> None:
    """A 404 for one subscription ends its polling with the error; the call itself does not fail."""
    clock = Clock()
    (result,) = await wait_settled(
        client, {"gone": "no-such-id"}, 1, sleep=clock.sleep, clock=lambda: clock.now
    )
    assert not result.settled and result.error is not None and "404" in result.error
    assert clock.delays == []
