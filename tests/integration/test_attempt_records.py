"""Attempt records written by the real dispatcher through the real webhook transport into the SQLite
file: status, latency, the start of the answer and the kind of failure of every try."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from ccbridge.config import DeliveryConfig
from ccbridge.core.event import RESPONSE_EXCERPT_BYTES, DeliveryJob, EndpointSpec, RetrySpec
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

POLICY = NetworkPolicy(allowed_networks=["127.0.0.0/8"])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=clock)
    await s.open()
    yield s
    await s.close()


async def test_a_retried_then_delivered_webhook_leaves_both_attempts(
    store: SqliteStore, clock: ManualClock
) -> None:
    """A 503 then a 200: two records with their statuses, answers, latencies and outcomes."""
    async with WebhookReceiver() as receiver:
        receiver.behave(fail_first=1, fail_status=503)
        sub = replace(
            sample_subscription("s1", "a", urls=[receiver.url], secret=""),
            retry=RetrySpec(max_retries=3, initial_delay_ms=1000, max_delay_ms=1000),
        )
        await store.create_subscription(sub, 10)
        await store.append_event(sample_event(1))
        config = DeliveryConfig(allowed_networks=["127.0.0.0/8"], lease_seconds=30, poll_interval_ms=50)
        worker = Dispatcher(store, {"webhook": WebhookEndpoint(POLICY)}, config, Metrics(), clock=clock)
        worker.start()
        try:

            async def retrying() -> bool:
                return (await store.delivery_counts("s1")).retrying == 1

            assert await wait_until(retrying, timeout=10)
            clock.t += 2
            worker.notify()

            async def delivered() -> bool:
                return (await store.delivery_counts("s1")).delivered == 1

            assert await wait_until(delivered, timeout=10)
        finally:
            await worker.stop(grace=1)
        url = receiver.url
    found = await store.event_with_deliveries("evt-1")
    assert found is not None
    [delivery] = found[1]
    first, second = await store.delivery_attempts(delivery.id) or []
    assert (first.attempt, first.outcome, first.status, first.error, first.error_class) == (
        1,
        "retry",
        503,
        "HTTP 503",
        "http_status",
    )
    assert first.response_body == "not ok" and first.endpoint_url == url
    assert (second.attempt, second.outcome, second.status, second.response_body) == (
        2,
        "delivered",
        200,
        "ok",
    )
    assert second.at == first.at + 2  # the manual clock: when each attempt began
    assert all(a.latency_ms is not None and a.latency_ms >= 0 for a in (first, second))


async def test_a_refused_connection_is_recorded_as_a_connection_failure(
    store: SqliteStore, clock: ManualClock
) -> None:
    """No answer at all: no status, no body, the error class says what happened."""
    async with WebhookReceiver() as receiver:
        url = receiver.url  # the port is free again once the receiver stops
    sub = replace(sample_subscription("s1", "gone", urls=[url], secret=""), retry=RetrySpec(max_retries=0))
    await store.create_subscription(sub, 10)
    await store.append_event(sample_event(1))
    config = DeliveryConfig(allowed_networks=["127.0.0.0/8"], lease_seconds=30, poll_interval_ms=50)
    worker = Dispatcher(store, {"webhook": WebhookEndpoint(POLICY)}, config, Metrics(), clock=clock)
    worker.start()
    try:

        async def dead() -> bool:
            return (await store.delivery_counts("s1")).dead_lettered == 1

        assert await wait_until(dead, timeout=10)
    finally:
        await worker.stop(grace=1)
    [letter] = await store.list_dead_letters("s1")
    [record] = await store.delivery_attempts(letter.id) or []
    assert (record.outcome, record.status, record.response_body, record.error_class) == (
        "dead",
        None,
        None,
        "connection",
    )


async def test_the_webhook_keeps_the_first_4_kb_of_an_answer_as_text() -> None:
    """A long answer with invalid UTF-8 (and a NUL) is cut at 4 KB, bad bytes replaced."""
    raw = b"\xff\x00" + b"x" * 10_000

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=500)  # streamed: no Content-Length
        await response.prepare(request)
        await response.write(raw)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    endpoint = WebhookEndpoint(POLICY)
    try:
        job = DeliveryJob(1, sample_event(1), "s1", EndpointSpec(f"http://127.0.0.1:{port}/"), 1)
        outcome = await endpoint.send(Attempt(job=job, body=b"{}"))
    finally:
        await endpoint.aclose()
        await runner.cleanup()
    assert outcome.status == 500 and outcome.body is not None
    assert outcome.body.startswith("\ufffd\ufffdxxx") and len(outcome.body) == RESPONSE_EXCERPT_BYTES
