"""Seed 001's registry sync done by the server: every subscription write through the API and every
change of a subscription's delivery state reaches the registry webhook, signed, with
`X-Event-Source: cxone-eventbridge`, through the durable delivery machinery, never failing the call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.receiver import ReceivedRequest
from ccbridge.testing.server import RunningServer, running_server

SUBS = "/api/v2/eventbridge/subscriptions"
EVENTS = "/api/v2/eventbridge/events"
REGISTRY_SECRET = "registry-signing-secret-1"
EVENT = {"eventType": "OrderCreated", "attributes": {"orderId": "o-1"}, "timestamp": "2026-11-24T10:00:00Z"}


def sub(url: str, name: str = "orders", **extra: Any) -> dict[str, Any]:
    return {"name": name, "eventType": "OrderCreated", "endpoints": [{"url": url}], **extra}


@pytest.fixture
async def registry() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(secrets=[REGISTRY_SECRET]) as receiver:
        yield receiver


def server(registry: WebhookReceiver) -> Any:
    return running_server(
        {
            "registry": {"webhook_url": registry.url, "secret": REGISTRY_SECRET, "state_poll_seconds": 0.05},
            "delivery": {"allowed_networks": ["127.0.0.0/8"], "poll_interval_ms": 20},
        }
    )


async def api(srv: RunningServer) -> httpx.AsyncClient:
    token = await srv.token()
    return httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"})


def told(received: list[ReceivedRequest]) -> list[tuple[str, str]]:
    return [(r.json()["subscriptionId"], r.json()["state"]) for r in received]


async def test_create_update_delete_are_told_signed_with_the_documents_source(
    registry: WebhookReceiver,
) -> None:
    """Three writes, three posts: `{subscriptionId, state, timestamp}` only, each signed with the
    registry secret (both schemes), `X-Event-Source: cxone-eventbridge`, a webhook-id of its own."""
    async with WebhookReceiver() as hook, server(registry) as srv, await api(srv) as client:
        created = await client.post(SUBS, json=sub(hook.url))
        assert created.status_code == 201 and created.headers["x-registry-sync"] == "server"
        sub_id = created.json()["id"]
        changed = await client.put(f"{SUBS}/{sub_id}", json=sub(hook.url, description="v2"))
        assert changed.status_code == 200
        assert (await client.delete(f"{SUBS}/{sub_id}")).status_code == 204
        received = await registry.wait_for(3)
    assert sorted(told(received)) == sorted([(sub_id, "active"), (sub_id, "active"), (sub_id, "deleted")])
    assert all(set(r.json()) == {"subscriptionId", "state", "timestamp"} for r in received)
    assert all(r.json()["timestamp"].endswith("Z") for r in received)
    assert all(r.headers["x-event-source"] == "cxone-eventbridge" for r in received)
    assert all(r.standard_valid and r.genesys_valid for r in received)
    assert len({r.headers["webhook-id"] for r in received}) == 3


async def test_a_registry_that_is_down_gets_the_notice_later(registry: WebhookReceiver) -> None:
    """With the registry answering 503, the create still answers 201 at once; the notice is retried
    from the store and lands when the registry answers again, with the same webhook-id."""
    registry.behave(Behaviour(fail_first=1, fail_status=503))
    async with WebhookReceiver() as hook, server(registry) as srv, await api(srv) as client:
        created = await client.post(SUBS, json=sub(hook.url))
        assert created.status_code == 201
        first, second = await registry.wait_for(2, timeout=10)
    assert (first.status, second.status) == (503, 200)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert told([second]) == [(created.json()["id"], "active")]


async def test_a_change_of_delivery_state_is_told(registry: WebhookReceiver) -> None:
    """An endpoint that refuses every delivery turns the subscription `failing` (as delivery-status
    says); the registry is told, once, after the `active` of the create."""
    async with (
        WebhookReceiver(Behaviour(status=500)) as hook,
        server(registry) as srv,
        await api(srv) as client,
    ):
        body = sub(hook.url, retryConfiguration={"maxRetries": 0, "backoffStrategy": "linear"})
        sub_id = (await client.post(SUBS, json=body)).json()["id"]
        assert (await client.post(EVENTS, json=EVENT)).status_code == 201
        received = await registry.wait_for(2, timeout=10)
        status = (await client.get(f"{SUBS}/{sub_id}/delivery-status")).json()
    assert status["state"] == "failing"
    assert told(received) == [(sub_id, "active"), (sub_id, "failing")]
