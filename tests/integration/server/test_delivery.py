"""Delivery end to end: matching, signed webhooks, retries, dead letters, replay, gRPC fan-out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest

from ccbridge.core import signatures
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.grpc_consumer import ConsumerBehaviour, GrpcConsumer
from ccbridge.testing.server import RunningServer, running_server, wait_until

SUBS = "/api/v2/eventbridge/subscriptions"
EVENTS = "/api/v2/eventbridge/events"
FAST_RETRY = {"maxRetries": 2, "backoffStrategy": "linear", "initialDelayMs": 20, "maxDelayMs": 50}


def interaction(duration: int, wrapup: str, channel: str = "voice") -> dict[str, Any]:
    return {
        "eventType": "custom.genesys.routing.interaction_completed",
        "eventTime": "2026-11-24T10:00:00Z",
        "source": "genesys",
        "data": {"channel": channel, "duration": duration, "wrapupcode": {"name": wrapup}},
    }


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as r:
        yield r


async def status(api: httpx.AsyncClient, sub_id: str) -> dict[str, Any]:
    return dict((await api.get(f"{SUBS}/{sub_id}/delivery-status")).json())


async def test_signed_webhook_delivery_carries_both_signatures(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """The consumer gets seed 002's body shape with Standard Webhooks and Genesys signatures that verify."""
    sub = (
        await api.post(
            SUBS,
            json={
                "name": "orders",
                "eventType": "OrderCreated",
                "endpoints": [{"url": receiver.url, "type": "webhook"}],
            },
        )
    ).json()
    receiver.secrets = [sub["secret"]]
    ack = (
        await api.post(
            EVENTS,
            json={
                "eventType": "OrderCreated",
                "attributes": {"orderId": "o-9"},
                "timestamp": "2026-11-24T10:00:00Z",
            },
            headers={"X-Correlation-Id": "corr-1"},
        )
    ).json()
    [request] = await receiver.wait_for(1)
    body = request.json()
    assert body["id"] == ack["id"] and body["event"] == "OrderCreated"
    assert body["data"] == {"orderId": "o-9"}
    assert body["metadata"] == {"correlationId": "corr-1", "subscriptionId": sub["id"], "attempt": 1}
    assert request.headers["webhook-id"] == ack["id"]
    assert request.headers["X-Correlation-Id"] == "corr-1"
    assert request.standard_valid is True and request.genesys_valid is True
    expected = signatures.sign_genesys(sub["secret"], request.body)
    assert request.headers["X-Genesys-Event-Signature"] == expected


async def test_genesys_filter_expression_routes_only_long_sales(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """Seed 002's duration > 120 and Sale-or-Upsell filter delivers exactly the matching calls.

    A 201 means the event's deliveries are committed with it, so the subscription's counts after the
    five 201s are every delivery there will ever be: two."""
    created = await api.post(
        SUBS,
        json={
            "name": "long-sales",
            "eventTypes": ["custom.genesys.routing.interaction_completed"],
            "deliveryConfig": {
                "deliveryType": "WEBHOOK",
                "url": receiver.url,
                "headers": {"X-Genesys-Event-Signature": "required", "X-Team": "sales"},
            },
            "filter": "data.channel == 'voice' && data.duration > 120 && "
            "(data.wrapupcode.name == 'Sale' || data.wrapupcode.name == 'Upsell')",
        },
    )
    for event in (
        interaction(300, "Sale"),
        interaction(60, "Sale"),
        interaction(500, "Complaint"),
        interaction(121, "Upsell"),
        interaction(400, "Sale", channel="chat"),
    ):
        assert (await api.post(EVENTS, json=event)).status_code == 201
    counts = (await api.get(f"{SUBS}/{created.json()['id']}/delivery-status")).json()["counts"]
    assert sum(counts.values()) == 2
    got = await receiver.wait_for(2)
    assert sorted(r.json()["data"]["duration"] for r in got) == [121, 300]
    assert all(r.headers["X-Team"] == "sales" for r in got)
    assert all(r.headers["X-Genesys-Event-Signature"] != "required" for r in got)


async def test_retries_then_delivered_and_status_counts(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """A consumer failing its first two attempts gets the event on the third, same webhook-id."""
    receiver.behave(fail_first=2, fail_status=503)
    sub = (
        await api.post(
            SUBS,
            json={
                "name": "flaky",
                "eventType": "contact.created",
                "endpoints": [{"url": receiver.url, "type": "webhook"}],
                "retryConfiguration": FAST_RETRY,
            },
        )
    ).json()
    await api.post(
        EVENTS,
        json={"eventType": "contact.created", "attributes": {"id": 1}, "timestamp": "2026-11-24T10:00:00Z"},
    )
    requests = await receiver.wait_for(3, timeout=10)
    assert [r.json()["metadata"]["attempt"] for r in requests] == [1, 2, 3]
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    final = await wait_until(lambda: _delivered(api, sub["id"]), timeout=5)
    assert final["counts"] == {"delivered": 1, "pending": 0, "retrying": 0, "deadLettered": 0}
    assert final["lastDeliveryError"] is None


async def _delivered(api: httpx.AsyncClient, sub_id: str) -> dict[str, Any] | None:
    current = await status(api, sub_id)
    return current if current["counts"]["delivered"] else None


async def test_permanent_failure_dead_letters_forwards_and_replays(
    server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """A 400 is permanent: a dead letter with its reason, POSTed to the DLQ endpoint, and a replay delivers."""
    async with WebhookReceiver() as dlq:
        receiver.behave(status=400)
        sub = (
            await api.post(
                SUBS,
                json={
                    "name": "broken",
                    "eventType": "contact.created",
                    "endpoints": [{"url": receiver.url}],
                    "deadLetterQueue": {"enabled": True, "endpointUrl": dlq.url, "retentionDays": 3},
                    "retryConfiguration": FAST_RETRY,
                },
            )
        ).json()
        await api.post(
            EVENTS,
            json={
                "eventType": "contact.created",
                "attributes": {"id": 2},
                "timestamp": "2026-11-24T10:00:00Z",
            },
        )
        [forwarded] = await dlq.wait_for(1, timeout=10)
        letter = forwarded.json()
        assert letter["type"] == "ccbridge.deadletter" and letter["lastStatus"] == 400
        assert letter["event"]["data"] == {"id": 2}
        listed = (
            await api.get("/api/v2/eventbridge/deadletters", params={"subscriptionId": sub["id"]})
        ).json()
        [dead] = listed["entities"]
        assert dead["reason"] == "HTTP 400" and dead["attempts"] == 1
        state = await status(api, sub["id"])
        assert state["state"] == "failing" and state["counts"]["deadLettered"] == 1
        receiver.behave(status=200)
        replay = await api.post(f"/api/v2/eventbridge/deadletters/{dead['id']}/replay")
        again = await api.post(f"/api/v2/eventbridge/deadletters/{dead['id']}/replay")
        assert replay.json() == {"replayed": 1} and again.json() == {"replayed": 0}
        await receiver.wait_for(2, timeout=10)
        done = await wait_until(lambda: _delivered(api, sub["id"]), timeout=5)
        assert done["counts"]["deadLettered"] == 0
        assert receiver.received[-1].json()["metadata"]["attempt"] == 1


async def test_retries_exhausted_become_dead_letter(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """A consumer that always answers 500 is tried maxRetries + 1 times, then dead-lettered."""
    receiver.behave(status=500)
    sub = (
        await api.post(
            SUBS,
            json={
                "name": "down",
                "eventType": "contact.created",
                "endpoints": [{"url": receiver.url}],
                "retryConfiguration": FAST_RETRY,
            },
        )
    ).json()
    await api.post(
        EVENTS, json={"eventType": "contact.created", "attributes": {}, "timestamp": "2026-11-24T10:00:00Z"}
    )
    await receiver.wait_for(3, timeout=10)
    letters = await wait_until(lambda: _letters(api, sub["id"]), timeout=5)
    assert letters[0]["attempts"] == 3
    assert letters[0]["reason"].startswith("gave up after 3 attempts")
    assert (await api.delete("/api/v2/eventbridge/deadletters")).json() == {"purged": 1}


async def _letters(api: httpx.AsyncClient, sub_id: str) -> list[dict[str, Any]]:
    return list(
        (await api.get("/api/v2/eventbridge/deadletters", params={"subscriptionId": sub_id})).json()[
            "entities"
        ]
    )


async def test_private_addresses_are_refused_without_allow_list() -> None:
    """Without an allow-list a loopback webhook is a permanent failure naming the reason."""
    async with running_server({"delivery": {"allowed_networks": []}}) as srv, WebhookReceiver() as receiver:
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            sub = (
                await api.post(
                    SUBS,
                    json={
                        "name": "local",
                        "eventType": "contact.created",
                        "endpoints": [{"url": receiver.url}],
                    },
                )
            ).json()
            await api.post(
                EVENTS,
                json={"eventType": "contact.created", "attributes": {}, "timestamp": "2026-11-24T10:00:00Z"},
            )
            letters = await wait_until(lambda: _letters(api, sub["id"]), timeout=5)
    assert "127.0.0.1" in letters[0]["reason"]
    assert receiver.received == []


async def test_grpc_fan_out_to_two_consumers_and_webhook(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """One subscription mixing two gRPC consumers and a webhook delivers to all three, each with its retries."""
    async with (
        GrpcConsumer() as healthy,
        GrpcConsumer(ConsumerBehaviour(fail_first=1, fail_code=grpc.StatusCode.UNAVAILABLE)) as flaky,
    ):
        await api.post(
            SUBS,
            json={
                "name": "fan-out",
                "eventType": "interaction.completed",
                "endpoints": [
                    {"url": healthy.address, "type": "grpc"},
                    {"url": flaky.address, "type": "grpc"},
                    {"url": receiver.url, "type": "webhook"},
                ],
                "retryConfiguration": FAST_RETRY,
            },
        )
        ack = (
            await api.post(
                EVENTS,
                json={
                    "eventType": "interaction.completed",
                    "attributes": {"duration": 300},
                    "timestamp": "2026-11-24T10:00:00Z",
                },
            )
        ).json()
        [got] = await healthy.wait_for(1, timeout=10)
        flaky_got = await flaky.wait_for(1, timeout=10)
        await receiver.wait_for(1)
    assert got.id == ack["id"] and got.type == "interaction.completed"
    assert got.body["data"] == {"duration": 300}
    assert flaky_got[-1].attempt == 2


async def test_a_subscription_with_a_nats_and_an_amqp_endpoint_gets_the_event_on_both(
    api: httpx.AsyncClient,
) -> None:
    """`type: queue` endpoints are delivered like the others: the event reaches a NATS subscriber and a
    RabbitMQ queue with the webhook's body and the event id; delivery-status counts both delivered."""
    import uuid

    import aio_pika
    import nats

    tag = uuid.uuid4().hex[:12]
    subject, queue_name = f"ccb.e2e.{tag}", f"ccb-e2e-{tag}"
    nc = await nats.connect("nats://127.0.0.1:4222")
    rabbit = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    try:
        got: asyncio.Queue[Any] = asyncio.Queue()
        await nc.subscribe(subject, cb=got.put)
        await nc.flush()
        queue = await (await rabbit.channel()).declare_queue(queue_name, auto_delete=True)
        sub = (
            await api.post(
                SUBS,
                json={
                    "name": "queues",
                    "eventType": "queue.event",
                    "endpoints": [
                        {"url": f"nats://127.0.0.1:4222/{subject}", "type": "queue"},
                        {
                            "url": f"amqp://guest:guest@127.0.0.1:5672/?routing_key={queue_name}",
                            "type": "queue",
                        },
                    ],
                },
            )
        ).json()
        ack = (
            await api.post(
                EVENTS,
                json={
                    "eventType": "queue.event",
                    "attributes": {"n": 1},
                    "timestamp": "2026-11-24T10:00:00Z",
                },
            )
        ).json()
        on_nats = await asyncio.wait_for(got.get(), 10)
        on_rabbit = await wait_until(lambda: queue.get(timeout=5, fail=False), timeout=10)
        await on_rabbit.ack()
        assert on_nats.headers["ccbridge-event-id"] == ack["id"] == on_rabbit.message_id
        assert on_nats.data == on_rabbit.body
        assert json.loads(on_nats.data)["data"] == {"n": 1}

        async def delivered() -> dict[str, Any] | None:
            current = await status(api, sub["id"])
            return current if current["counts"]["delivered"] == 2 else None

        current = await wait_until(delivered, timeout=10)
        assert current["counts"]["pending"] == 0 and "waiting" not in current
    finally:
        await nc.close()
        await rabbit.close()


def gauge(metrics: str, name: str) -> float:
    [line] = [line for line in metrics.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


async def test_metrics_show_the_backlog_retries_and_lag(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """/metrics reads the backlog from the store: two retries scheduled an hour ahead are pending and
    retrying, and neither is lag, since neither is due for the dispatcher."""
    receiver.behave(fail_first=100, fail_status=503, retry_after="3600")
    for name, event_type, endpoint in (
        ("later", "contact.created", {"url": receiver.url, "type": "webhook"}),
        ("later2", "queue.event", {"url": receiver.url + "/2", "type": "webhook"}),
    ):
        await api.post(SUBS, json={"name": name, "eventType": event_type, "endpoints": [endpoint]})
        await api.post(
            EVENTS, json={"eventType": event_type, "attributes": {}, "timestamp": "2026-11-24T10:00:00Z"}
        )
    await receiver.wait_for(2, timeout=10)

    async def settled() -> str | None:
        text = (await api.get("/metrics")).text
        return text if gauge(text, "ccbridge_deliveries_retrying") == 2 else None

    metrics = await wait_until(settled, timeout=5)
    assert gauge(metrics, "ccbridge_deliveries_pending") == 2
    assert gauge(metrics, "ccbridge_delivery_lag_seconds") == 0


async def test_metrics_lag_grows_while_due_deliveries_wait() -> None:
    """With the dispatcher off, a due delivery waits: the lag is its age."""
    async with running_server({"delivery": {"enabled": False}}) as srv:
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            await api.post(
                SUBS,
                json={
                    "name": "w",
                    "eventType": "contact.created",
                    "endpoints": [{"url": "https://example.com/h"}],
                },
            )
            await api.post(
                EVENTS,
                json={"eventType": "contact.created", "attributes": {}, "timestamp": "2026-11-24T10:00:00Z"},
            )
            first = (await api.get("/metrics")).text
            later = first
            for _ in range(500):  # until the lag has grown: a wait for something that must happen
                if gauge(later, "ccbridge_delivery_lag_seconds") > gauge(
                    first, "ccbridge_delivery_lag_seconds"
                ):
                    break
                await asyncio.sleep(0.01)
                later = (await api.get("/metrics")).text
    assert gauge(first, "ccbridge_delivery_lag_seconds") >= 0
    assert gauge(later, "ccbridge_delivery_lag_seconds") > gauge(first, "ccbridge_delivery_lag_seconds")
    assert gauge(later, "ccbridge_deliveries_pending") == 1
    assert gauge(later, "ccbridge_deliveries_retrying") == 0


async def test_a_genesys_queue_subscription_publishes_to_its_jetstream_subject(
    api: httpx.AsyncClient,
) -> None:
    """Genesys `deliveryType: QUEUE` with a NATS URL: the stream stores the event once, with the
    subscription's static header and Nats-Msg-Id = the event id."""
    import uuid

    import nats

    tag = uuid.uuid4().hex[:12]
    stream, subject = f"CCB_{tag}", f"ccb.genesys.{tag}"
    nc = await nats.connect("nats://127.0.0.1:4222")
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    try:
        created = await api.post(
            SUBS,
            json={
                "name": "genesys-queue",
                "eventTypes": ["custom.genesys.routing.interaction_completed"],
                "deliveryConfig": {
                    "deliveryType": "QUEUE",
                    "url": f"nats://127.0.0.1:4222/{subject}",
                    "headers": {"X-Team": "sales"},
                },
            },
        )
        assert created.status_code == 201, created.text
        ack = (await api.post(EVENTS, json=interaction(300, "Sale"))).json()

        async def stored() -> int | None:
            messages = int((await js.stream_info(stream)).state.messages)
            return messages or None

        assert await wait_until(stored, timeout=10) == 1
        message = await js.get_msg(stream, 1)
        assert message.headers is not None
        assert message.headers["Nats-Msg-Id"] == ack["id"] == message.headers["ccbridge-event-id"]
        assert message.headers["X-Team"] == "sales"
        assert json.loads(message.data)["data"]["duration"] == 300
    finally:
        await js.delete_stream(stream)
        await nc.close()


async def test_genesys_fan_out_to_grpc_consumers_retries_each_by_its_own_settings(
    api: httpx.AsyncClient,
) -> None:
    """Seed 002's router as one Genesys subscription: `deliveryConfig` lists two gRPC consumers; the
    one with its own `maxRetries: 0` is dead-lettered after one call, the other is retried by the
    subscription's `retryConfiguration` until it takes the event."""
    async with (
        GrpcConsumer(ConsumerBehaviour(always=grpc.StatusCode.UNAVAILABLE)) as down,
        GrpcConsumer(ConsumerBehaviour(fail_first=2, fail_code=grpc.StatusCode.UNAVAILABLE)) as flaky,
    ):
        created = await api.post(
            SUBS,
            json={
                "name": "router",
                "eventTypes": ["custom.genesys.routing.interaction_completed"],
                "deliveryConfig": [
                    {"deliveryType": "GRPC", "url": down.address, "retryConfiguration": {"maxRetries": 0}},
                    {"deliveryType": "GRPC", "url": flaky.address},
                ],
                "retryConfiguration": FAST_RETRY,
                "deadLetterQueue": {"enabled": True},
            },
        )
        assert created.status_code == 201, created.text
        sub = created.json()
        assert sub["deliveryConfig"][0]["retryConfiguration"] == {"maxRetries": 0}
        await api.post(EVENTS, json=interaction(300, "Sale"))
        [got] = await flaky.wait_for(1, timeout=10)

        async def dead_letters() -> list[dict[str, Any]] | None:
            answer = await api.get("/api/v2/eventbridge/deadletters", params={"subscriptionId": sub["id"]})
            return answer.json()["entities"] or None

        [dead] = await wait_until(dead_letters, timeout=10)
    assert got.attempt == 3
    assert dead["attempts"] == 1 and len(down.calls) == 1
