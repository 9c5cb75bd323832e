"""NatsEndpoint against the machine's NATS server (127.0.0.1:4222, JetStream enabled)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from queue_support import LOOPBACK, closed_port, make_attempt, unique

from ccbridge.core.event import Delivered, Failed, Retry
from ccbridge.endpoints.nats import NatsEndpoint, parse_url
from ccbridge.endpoints.netguard import NetworkPolicy

pytestmark = pytest.mark.nats
SERVER = "nats://127.0.0.1:4222"


@pytest.fixture
async def nc() -> AsyncIterator[Client]:
    client = await nats.connect(SERVER)
    yield client
    await client.close()


@pytest.fixture
async def endpoint() -> AsyncIterator[NatsEndpoint]:
    ep = NatsEndpoint(LOOPBACK)
    yield ep
    await ep.aclose()


async def test_a_jetstream_subject_is_stored_once_per_event_id(nc: Client, endpoint: NatsEndpoint) -> None:
    stream, subject = unique("CCB"), unique("ccb.js.")
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    try:
        url = f"{SERVER}/{subject}"
        assert await endpoint.send(make_attempt(url, event_id="evt-a", attempt=1)) == Delivered()
        assert await endpoint.send(make_attempt(url, event_id="evt-a", attempt=2)) == Delivered()
        assert await endpoint.send(make_attempt(url, event_id="evt-b")) == Delivered()
        info = await js.stream_info(stream)
        assert info.state.messages == 2  # the redelivery of evt-a was de-duplicated by Nats-Msg-Id
        first = await js.get_msg(stream, 1)
        assert first.headers is not None
        assert first.headers["Nats-Msg-Id"] == "evt-a"
        assert first.headers["ccbridge-event-id"] == "evt-a"
        assert first.headers["ccbridge-event-type"] == "routing:interaction:completed"
        assert first.headers["ccbridge-correlation-id"] == "corr-1"
        assert first.headers["ccbridge-attempt"] == "1"
        assert first.headers["X-Static"] == "s"
        assert first.data == make_attempt(url, event_id="evt-a").body
    finally:
        await js.delete_stream(stream)


async def test_a_plain_subject_reaches_a_subscriber(nc: Client, endpoint: NatsEndpoint) -> None:
    subject = unique("ccb.plain.")
    got: asyncio.Queue[Msg] = asyncio.Queue()
    await nc.subscribe(subject, cb=got.put)
    await nc.flush()
    attempt = make_attempt(f"{SERVER}/{subject}", event_id="evt-p", attempt=3)
    assert await endpoint.send(attempt) == Delivered()
    msg = await asyncio.wait_for(got.get(), 5)
    assert msg.data == attempt.body
    assert msg.headers is not None
    assert msg.headers["ccbridge-event-id"] == "evt-p"
    assert msg.headers["ccbridge-attempt"] == "3"
    assert "Nats-Msg-Id" not in msg.headers  # no stream: nothing de-duplicates


async def test_the_connection_is_shared_by_sends(nc: Client, endpoint: NatsEndpoint) -> None:
    subject = unique("ccb.many.")
    got: asyncio.Queue[Msg] = asyncio.Queue()
    await nc.subscribe(subject, cb=got.put)
    await nc.flush()
    url = f"{SERVER}/{subject}"
    outcomes = await asyncio.gather(*(endpoint.send(make_attempt(url, event_id=f"e{i}")) for i in range(20)))
    assert outcomes == [Delivered()] * 20
    assert len(endpoint._connections._tasks) == 1
    ids = {(await asyncio.wait_for(got.get(), 5)).headers["ccbridge-event-id"] for _ in range(20)}  # type: ignore[index]
    assert ids == {f"e{i}" for i in range(20)}


async def test_a_broker_that_is_down_is_retried(endpoint: NatsEndpoint) -> None:
    outcome = await endpoint.send(make_attempt(f"nats://127.0.0.1:{closed_port()}/orders", timeout=3))
    assert isinstance(outcome, Retry), outcome


async def test_a_refused_address_fails_and_names_the_setting() -> None:
    endpoint = NatsEndpoint(NetworkPolicy())
    outcome = await endpoint.send(make_attempt(f"{SERVER}/orders"))
    assert isinstance(outcome, Failed)
    assert "delivery.allowed_networks" in outcome.reason
    await endpoint.aclose()


async def test_a_message_over_max_payload_fails(nc: Client, endpoint: NatsEndpoint) -> None:
    attempt = make_attempt(f"{SERVER}/{unique('ccb.big.')}")
    big = type(attempt)(job=attempt.job, body=b"x" * (nc.max_payload + 1), headers={}, timeout=5)
    outcome = await endpoint.send(big)
    assert isinstance(outcome, Failed) and "max payload" in outcome.reason


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("nats://127.0.0.1:4222", "no subject"),
        ("nats://127.0.0.1:4222/orders.*", "wildcards"),
        ("nats://127.0.0.1:4222/a..b", "tokens"),
        ("nats:///orders", "no host"),
        ("nats://127.0.0.1:4222/orders?x=1", "query"),
    ],
)
async def test_a_bad_url_fails_with_the_reason_and_no_secret(
    endpoint: NatsEndpoint, url: str, why: str
) -> None:
    outcome = await endpoint.send(make_attempt(url.replace("//", "//u:hunter2@", 1)))
    assert isinstance(outcome, Failed) and why in outcome.reason
    assert "hunter2" not in outcome.reason


def test_credentials_and_tls_come_from_the_url() -> None:
    target = parse_url("tls://alice:s%40cret@nats.example.com/orders.created")
    assert (target.tls, target.host, target.port, target.subject) == (
        True,
        "nats.example.com",
        4222,
        "orders.created",
    )
    assert (target.user, target.password, target.token) == ("alice", "s@cret", None)
    assert parse_url("nats://tok@h:4333/x").token == "tok"


async def test_after_aclose_a_send_is_retried(endpoint: NatsEndpoint) -> None:
    await endpoint.aclose()
    assert isinstance(await endpoint.send(make_attempt(f"{SERVER}/x")), Retry)
