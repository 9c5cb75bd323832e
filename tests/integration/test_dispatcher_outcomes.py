"""Every attempt ends in an outcome: an exception while building or sending it is settled (a retry,
or a dead letter with the reason), never left as a pending delivery with no attempt, leased again
every lease term while delivery-status says `active`.

The events are stored through the store itself, below the API (which refuses over-deep bodies at
parse time), because what is tested is the dispatcher's side: whatever is stored gets an outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from ccbridge.api.subscriptions import render_status
from ccbridge.config import DeliveryConfig
from ccbridge.core.event import Outcome, RetrySpec
from ccbridge.core.ports import Attempt
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.delivery.dispatcher import Dispatcher
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.endpoints.webhook import WebhookEndpoint
from ccbridge.observability.metrics import Metrics
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event, sample_subscription
from ccbridge.testing.server import wait_until


def nested(depth: int) -> dict[str, Any]:
    """A JSON object `depth` containers deep: the encoder writes up to 254, so 254 stores but the
    delivery body, which wraps the data once more, cannot be encoded."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


class RaisingEndpoint:
    """An Endpoint adapter with a bug: `send` raises instead of returning an Outcome."""

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, attempt: Attempt) -> Outcome:
        self.calls += 1
        raise RuntimeError("adapter bug")

    async def aclose(self) -> None:
        return None


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=clock)
    await s.open()
    yield s
    await s.close()


def config() -> DeliveryConfig:
    return DeliveryConfig(allowed_networks=["127.0.0.0/8"], lease_seconds=30, poll_interval_ms=50)


async def dead_lettered(store: SqliteStore, sub_id: str, n: int = 1) -> bool:
    return (await store.delivery_counts(sub_id)).dead_lettered >= n


async def test_an_event_the_encoder_cannot_wrap_is_dead_lettered_with_the_reason(
    store: SqliteStore, clock: ManualClock
) -> None:
    async with WebhookReceiver() as receiver:
        await store.create_subscription(sample_subscription("s1", "deep", urls=[receiver.url], secret=""), 10)
        deep = await store.append_event(sample_event(1, data=nested(254)))
        assert deep.created and deep.deliveries == 1  # stored: its own encoding is one level less
        with pytest.raises(orjson.JSONEncodeError):
            orjson.dumps(sample_event(1, data=nested(254)).delivery_body("s1", 1))
        await store.append_event(sample_event(2))  # a normal one beside it is delivered
        worker = Dispatcher(
            store,
            {"webhook": WebhookEndpoint(NetworkPolicy(allowed_networks=["127.0.0.0/8"]))},
            config(),
            Metrics(),
            clock=clock,
        )
        worker.start()
        try:
            assert await wait_until(lambda: dead_lettered(store, "s1"), timeout=10)
            await receiver.wait_for(1, timeout=10)
        finally:
            await worker.stop(grace=1)
        [letter] = await store.list_dead_letters("s1")
        counts = await store.delivery_counts("s1")
        sub = await store.get_subscription("s1")
        assert sub is not None
        status = render_status(sub, counts, clock.now())
    assert letter.event_id == "evt-1" and letter.attempts == 1
    assert letter.reason is not None and "could not be built" in letter.reason
    assert [r.json()["id"] for r in receiver.received] == ["evt-2"]
    assert counts.pending == 0 and counts.retrying == 0 and counts.delivered == 1
    assert status["state"] != "active"
    assert await store.lease("anyone", 10, 30) == []  # nothing left to be leased again


async def test_an_endpoint_that_raises_is_retried_by_the_policy_then_dead_lettered(
    store: SqliteStore, clock: ManualClock
) -> None:
    sub = replace(
        sample_subscription("s1", "buggy", secret=""),
        retry=RetrySpec(max_retries=1, initial_delay_ms=2000, max_delay_ms=2000),
    )
    await store.create_subscription(sub, 10)
    await store.append_event(sample_event(1))
    endpoint = RaisingEndpoint()
    worker = Dispatcher(store, {"webhook": endpoint}, config(), Metrics(), clock=clock)
    worker.start()
    try:

        async def retrying() -> bool:
            return (await store.delivery_counts("s1")).retrying == 1

        assert await wait_until(retrying, timeout=10)
        retried = await store.delivery_counts("s1")
        due = await store.next_due()
        assert due is not None and clock.now() + 1 <= due <= clock.now() + 2  # equal jitter of 2 s
        clock.advance(2)
        worker.notify()
        assert await wait_until(lambda: dead_lettered(store, "s1"), timeout=10)
    finally:
        await worker.stop(grace=1)
    [letter] = await store.list_dead_letters("s1")
    assert endpoint.calls == 2
    assert retried.last_error is not None and "adapter bug" in retried.last_error
    assert letter.attempts == 2 and letter.reason is not None
    assert letter.reason.startswith("gave up after 2 attempts") and "RuntimeError" in letter.reason
