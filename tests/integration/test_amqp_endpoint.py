"""AmqpEndpoint against the machine's RabbitMQ (127.0.0.1:5672, guest/guest)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aio_pika
import aio_pika.abc
import pytest
from queue_support import LOOPBACK, closed_port, make_attempt, unique

from ccbridge.core.event import Delivered, Failed, Retry
from ccbridge.endpoints.amqp import AmqpEndpoint, parse_url
from ccbridge.endpoints.netguard import NetworkPolicy

BROKER = "amqp://guest:guest@127.0.0.1:5672"


@pytest.fixture
async def channel() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(BROKER + "/")
    yield await connection.channel()
    await connection.close()


@pytest.fixture
async def endpoint() -> AsyncIterator[AmqpEndpoint]:
    ep = AmqpEndpoint(LOOPBACK)
    yield ep
    await ep.aclose()


async def _bound_queue(channel: aio_pika.abc.AbstractChannel) -> tuple[str, aio_pika.abc.AbstractQueue]:
    exchange = await channel.declare_exchange(
        unique("ccb-x-"), aio_pika.ExchangeType.DIRECT, auto_delete=True
    )
    queue = await channel.declare_queue(unique("ccb-q-"), auto_delete=True)
    await queue.bind(exchange, routing_key="orders")
    return exchange.name, queue


async def test_a_confirmed_persistent_message_with_the_event_id(
    channel: aio_pika.abc.AbstractChannel, endpoint: AmqpEndpoint
) -> None:
    exchange, queue = await _bound_queue(channel)
    attempt = make_attempt(f"{BROKER}/?exchange={exchange}&routing_key=orders", event_id="evt-r", attempt=2)
    assert await endpoint.send(attempt) == Delivered()
    message = await queue.get(timeout=5)
    await message.ack()
    assert message.body == attempt.body
    assert message.message_id == "evt-r"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.correlation_id == "corr-1"
    assert message.type == "routing:interaction:completed"
    assert message.content_type == "application/json"
    assert message.headers["ccbridge-event-id"] == "evt-r"
    assert message.headers["ccbridge-event-type"] == "routing:interaction:completed"
    assert message.headers["ccbridge-correlation-id"] == "corr-1"
    assert message.headers["ccbridge-attempt"] == "2"
    assert message.headers["X-Static"] == "s"


async def test_the_default_exchange_routes_to_a_queue_by_name(
    channel: aio_pika.abc.AbstractChannel, endpoint: AmqpEndpoint
) -> None:
    queue = await channel.declare_queue(unique("ccb-q-"), auto_delete=True)
    assert await endpoint.send(make_attempt(f"{BROKER}/%2f?routing_key={queue.name}")) == Delivered()
    message = await queue.get(timeout=5)
    await message.ack()
    assert message.message_id == "evt-1"


async def test_a_missing_exchange_fails_and_the_next_send_still_works(
    channel: aio_pika.abc.AbstractChannel, endpoint: AmqpEndpoint
) -> None:
    outcome = await endpoint.send(make_attempt(f"{BROKER}/?exchange={unique('missing-')}&routing_key=k"))
    assert isinstance(outcome, Failed), outcome
    assert "NOT_FOUND" in outcome.reason
    exchange, queue = await _bound_queue(channel)  # the closed channel is replaced
    assert (
        await endpoint.send(make_attempt(f"{BROKER}/?exchange={exchange}&routing_key=orders")) == Delivered()
    )
    await (await queue.get(timeout=5)).ack()


async def test_an_unroutable_message_is_retried(
    channel: aio_pika.abc.AbstractChannel, endpoint: AmqpEndpoint
) -> None:
    exchange, _ = await _bound_queue(channel)
    outcome = await endpoint.send(make_attempt(f"{BROKER}/?exchange={exchange}&routing_key=nobody"))
    assert isinstance(outcome, Retry) and "unroutable" in outcome.reason, outcome


async def test_concurrent_sends_share_one_connection(
    channel: aio_pika.abc.AbstractChannel, endpoint: AmqpEndpoint
) -> None:
    exchange, queue = await _bound_queue(channel)
    url = f"{BROKER}/?exchange={exchange}&routing_key=orders"
    outcomes = await asyncio.gather(*(endpoint.send(make_attempt(url, event_id=f"e{i}")) for i in range(20)))
    assert outcomes == [Delivered()] * 20
    assert len(endpoint._connections._tasks) == 1
    ids = set()
    for _ in range(20):
        message = await queue.get(timeout=5)
        ids.add(message.message_id)
        await message.ack()
    assert ids == {f"e{i}" for i in range(20)}


async def test_a_broker_that_is_down_is_retried(endpoint: AmqpEndpoint) -> None:
    outcome = await endpoint.send(make_attempt(f"amqp://127.0.0.1:{closed_port()}/?routing_key=q", timeout=3))
    assert isinstance(outcome, Retry), outcome


async def test_wrong_credentials_fail_without_the_password(endpoint: AmqpEndpoint) -> None:
    outcome = await endpoint.send(make_attempt("amqp://guest:hunter2@127.0.0.1:5672/?routing_key=q"))
    assert isinstance(outcome, Failed), outcome
    assert "hunter2" not in outcome.reason


async def test_a_refused_address_fails_and_names_the_setting() -> None:
    endpoint = AmqpEndpoint(NetworkPolicy())
    outcome = await endpoint.send(make_attempt(f"{BROKER}/?routing_key=q"))
    assert isinstance(outcome, Failed) and "delivery.allowed_networks" in outcome.reason
    await endpoint.aclose()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("amqp://u:hunter2@127.0.0.1/", "name an exchange"),
        ("amqp://u:hunter2@127.0.0.1/?exchange=x&color=red", "unknown query parameter"),
        ("amqp://u:hunter2@127.0.0.1/a/b?exchange=x", "%2f"),
        ("amqp://u:hunter2@/?exchange=x", "no host"),
    ],
)
async def test_a_bad_url_fails_with_the_reason_and_no_secret(
    endpoint: AmqpEndpoint, url: str, why: str
) -> None:
    outcome = await endpoint.send(make_attempt(url))
    assert isinstance(outcome, Failed) and why in outcome.reason, outcome
    assert "hunter2" not in outcome.reason


def test_vhost_exchange_and_routing_key_come_from_the_url() -> None:
    target = parse_url("amqp://bob:p%40ss@mq.example.com:5673/prod?exchange=cc&routing_key=events.voice")
    assert (target.host, target.port, target.vhost) == ("mq.example.com", 5673, "prod")
    assert (target.exchange, target.routing_key, target.user, target.password) == (
        "cc",
        "events.voice",
        "bob",
        "p@ss",
    )
    assert parse_url("amqp://h?routing_key=q").vhost == "/"


async def test_after_aclose_a_send_is_retried(endpoint: AmqpEndpoint) -> None:
    await endpoint.aclose()
    assert isinstance(await endpoint.send(make_attempt(f"{BROKER}/?routing_key=q")), Retry)
