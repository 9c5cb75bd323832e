"""`ccbridge serve` with a Genesys connector against a fake Genesys Cloud: a notification reaches a
subscriber, and the connector's state shows in `GET /api/v2/connectors`, `/metrics` and
`ccbridge connectors status`."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import httpx

from ccbridge.config import DEFAULT_EVENT_TYPES
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.genesys import FakeGenesys
from ccbridge.testing.server import running_server, wait_until

TYPE = "v2.routing.queues.{id}.conversations"
Q1 = "v2.routing.queues.q-1.conversations"


def overrides(fake: FakeGenesys) -> dict[str, object]:
    return {
        "event_types": [*DEFAULT_EVENT_TYPES, TYPE, "ccbridge.connector.gap"],
        "connectors": {
            "genesys": [
                {
                    "name": "gc-e2e",
                    "client_id": fake.client_id,
                    "client_secret": fake.client_secret,
                    "topics": [{"topic": TYPE, "ids": ["q-1", "q-2"]}],
                    "api_url": fake.url,
                    "login_url": fake.url,
                }
            ]
        },
    }


async def test_a_notification_reaches_a_subscriber_and_the_state_is_reported() -> None:
    """Fake WebSocket -> connector -> store -> webhook; the status route, metrics and CLI agree."""
    async with FakeGenesys(heartbeat_seconds=0.5) as fake, WebhookReceiver() as receiver:
        async with running_server(overrides(fake)) as srv:
            token = await srv.token()
            bearer = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=srv.base_url, headers=bearer) as api:
                created = await api.post(
                    "/api/v2/eventbridge/subscriptions",
                    json={"name": "q", "eventType": TYPE, "endpoints": [{"url": receiver.url}]},
                )
                assert created.status_code == 201, created.text

                async def connected() -> bool:
                    [entity] = (await api.get("/api/v2/connectors")).json()["entities"]
                    return bool(entity["connected"]) and fake.subscribed(Q1) == 1

                assert await wait_until(connected, timeout=20)
                await fake.publish(Q1, {"id": "conv-1", "participants": [{"purpose": "customer"}]})
                [delivered] = await receiver.wait_for(1, timeout=10)
                body = delivered.json()
                assert (body["event"], body["data"]["id"]) == (TYPE, "conv-1")
                assert body["metadata"]["genesysTopic"] == Q1 and body["source"] == "genesys/gc-e2e"

                async def counted() -> bool:
                    [e] = (await api.get("/api/v2/connectors")).json()["entities"]
                    return bool(e.get("messages") == 1)

                assert await wait_until(counted, timeout=15)
                [entity] = (await api.get("/api/v2/connectors")).json()["entities"]
                assert entity["kind"] == "genesys" and entity["state"] == "connected" and entity["owner"]
                assert sorted(entity["channels"][0]["topics"]) == [Q1, "v2.routing.queues.q-2.conversations"]
                assert entity["tokenExpiresAt"] and entity["lastMessageAt"] and entity["lastGap"] is None
                assert fake.client_secret not in json.dumps(entity)
                metrics = (await api.get("/metrics")).text
                assert 'ccbridge_connector_connected{connector="gc-e2e",kind="genesys"} 1.0' in metrics
                assert 'ccbridge_connector_messages{connector="gc-e2e",kind="genesys"} 1.0' in metrics
                scoped = await srv.token("eventbridge:events:write")
                refused = await api.get("/api/v2/connectors", headers={"Authorization": f"Bearer {scoped}"})
                assert refused.status_code == 403
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ccbridge",
                "connectors",
                "status",
                "--json",
                "--config",
                str(srv.config_path),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await process.communicate()
            assert process.returncode == 0, err.decode()
            [shown] = json.loads(out)["entities"]
            assert (shown["name"], shown["state"]) == ("gc-e2e", "connected")
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ccbridge",
                "connectors",
                "status",
                "--config",
                str(srv.config_path),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "COLUMNS": "250"},
            )
            out, err = await process.communicate()
            assert process.returncode == 0 and b"gc-e2e" in out and b"connected" in out, err.decode()
        assert fake.open_sockets() == 0  # the server's shutdown closed the channel
