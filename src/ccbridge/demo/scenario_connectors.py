"""Connectors: a Genesys Cloud conversation notification read from a (fake) notification WebSocket
and delivered to a subscriber, a dropped socket reported as a `ccbridge.connector.gap` event, and an
Amazon EventBridge envelope posted to `/sources/aws-eventbridge` (stored once by its id).

The step runs its own second server (same binary, its own SQLite file) whose config names the fake
Genesys (`ccbridge.testing.genesys`, a test fixture) and the EventBridge source, so the main
server's figures, which the metrics step checks, are untouched.
"""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from ccbridge.config import DEFAULT_EVENT_TYPES
from ccbridge.demo.context import Demo, arrivals, short
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.genesys import FakeGenesys
from ccbridge.testing.server import running_server, wait_until

TYPE = "v2.routing.queues.{id}.conversations"
GAP = "ccbridge.connector.gap"
QUEUE = "v2.routing.queues.7e3c1b52-3b8d-4d6b-9d3f-0a51c1b0a9e1.conversations"
EB_KEY = "demo-eventbridge-key-5c1e"
SUBS = "/api/v2/eventbridge/subscriptions"
CONVERSATION = {
    "id": "4f6e2c8a-1d3b-4a5e-9f7c-2b8d0e1a3c5f",
    "participants": [{"purpose": "customer", "queueId": "7e3c1b52-3b8d-4d6b-9d3f-0a51c1b0a9e1"}],
}
ENVELOPE: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": TYPE,
    "source": "aws.partner/genesys.com/cloud/demo-org/ccbridge",
    "account": "123456789012",
    "time": "2026-11-24T10:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"topicName": QUEUE, "version": "2", "eventBody": {"id": "conv-eb-1"}, "metadata": {}},
}


def _config(fake: FakeGenesys) -> dict[str, Any]:
    return {
        "event_types": [*DEFAULT_EVENT_TYPES, TYPE, GAP],
        "connectors": {
            "genesys": [
                {
                    "name": "gc-demo",
                    "client_id": fake.client_id,
                    "client_secret": fake.client_secret,
                    "topics": [{"topic": TYPE, "ids": ["7e3c1b52-3b8d-4d6b-9d3f-0a51c1b0a9e1"]}],
                    "api_url": fake.url,
                    "login_url": fake.url,
                }
            ],
            "aws_eventbridge": {"api_keys": [EB_KEY]},
        },
    }


async def connectors(ctx: Demo) -> None:
    folder = ctx.srv.folder / "connectors"
    folder.mkdir(exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeGenesys(heartbeat_seconds=1.0))
        queue_hook = await stack.enter_async_context(WebhookReceiver(path="/queues"))
        gap_hook = await stack.enter_async_context(WebhookReceiver(path="/gaps"))
        srv = await stack.enter_async_context(running_server(_config(fake), folder=folder))
        token = await srv.token()
        api = await stack.enter_async_context(
            httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        )
        for name, event_type, hook in (("queues", TYPE, queue_hook), ("gaps", GAP, gap_hook)):
            await api.post(
                SUBS, json={"name": name, "eventType": event_type, "endpoints": [{"url": hook.url}]}
            )

        async def connected() -> bool:
            entities = (await api.get("/api/v2/connectors")).json()["entities"]
            return bool(entities and entities[0]["connected"]) and fake.subscribed(QUEUE) == 1

        ctx.check(
            "Genesys connector subscribed (GET /api/v2/connectors)", True, await wait_until(connected, 10)
        )
        await fake.publish(QUEUE, CONVERSATION)
        got = await arrivals(queue_hook, 1)
        body = got[0].json() if got else {}
        ctx.check("notification -> subscriber: type", TYPE, body.get("event"))
        ctx.check(
            "  data = eventBody (conversation id)",
            short(CONVERSATION["id"]),
            short(body.get("data", {}).get("id")),
        )
        ctx.check("  concrete topic kept", QUEUE, body.get("metadata", {}).get("genesysTopic"))
        await fake.drop()
        gaps = await arrivals(gap_hook, 1)
        gap = gaps[0].json().get("data", {}) if gaps else {}
        ctx.check("dropped socket -> ccbridge.connector.gap delivered", "gc-demo", gap.get("connector"))
        ctx.check("  reconnected", True, await wait_until(connected, 10))
        headers = {"x-api-key": EB_KEY}
        first = await api.post("/sources/aws-eventbridge", json=ENVELOPE, headers=headers)
        again = await api.post("/sources/aws-eventbridge", json=ENVELOPE, headers=headers)
        ctx.check(
            "EventBridge envelope: 200, redelivery duplicate",
            "200 False / 200 True",
            f"{first.status_code} {first.json().get('duplicate')} / {again.status_code} {again.json().get('duplicate')}",
        )
        unauthorized = await api.post("/sources/aws-eventbridge", json=ENVELOPE)
        ctx.check("  without the API key", 401, unauthorized.status_code)
        got = await arrivals(queue_hook, 2)
        ctx.check(
            "  delivered once, data = detail.eventBody",
            "2 deliveries, conv-eb-1",
            f"{len(got)} deliveries, {got[-1].json().get('data', {}).get('id') if got else None}",
        )
