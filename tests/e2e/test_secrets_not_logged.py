"""`ccbridge serve` at debug level, with an audit log: subscriptions carrying credentials are created,
read back, sent back, delivered, dead-lettered and forwarded, a masked create is refused, and
neither the server's log nor the audit log holds any of those credentials."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
from conftest import Servers

from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.server import kill, wait_until

SUBS = "/api/v2/eventbridge/subscriptions"
EVENT = {"eventType": "OrderCreated", "attributes": {"orderId": "o-1"}, "timestamp": "2026-11-24T10:00:00Z"}
BEARER = f"tok-{uuid.uuid4().hex}"
API_KEY = f"key-{uuid.uuid4().hex}"
PASSWORD = f"pw-{uuid.uuid4().hex}"
DLQ_PASSWORD = f"dlqpw-{uuid.uuid4().hex}"


def credentialed(url: str, user: str, password: str) -> str:
    return url.replace("http://", f"http://{user}:{password}@", 1)


def subscriptions(ok: str, refusing: str, dlq: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "headers",
            "eventTypes": ["OrderCreated"],
            "deliveryConfig": {
                "url": ok,
                "headers": {"Authorization": f"Bearer {BEARER}", "X-Api-Key": API_KEY},
            },
        },
        {
            "name": "dead",
            "eventType": "OrderCreated",
            "endpoints": [{"url": credentialed(refusing, "crm", PASSWORD)}],
            "deadLetterQueue": {"enabled": True, "endpointUrl": credentialed(dlq, "ops", DLQ_PASSWORD)},
        },
    ]


async def test_no_credential_reaches_the_server_log_or_the_audit_log(
    tmp_path: Path, servers: Servers
) -> None:
    audit = tmp_path / "audit.jsonl"
    overrides = {"logging": {"level": "debug"}, "audit": {"path": str(audit)}}
    async with (
        WebhookReceiver() as ok,
        WebhookReceiver(Behaviour(status=404)) as refusing,
        WebhookReceiver() as dlq,
    ):
        srv = await servers.start(tmp_path, overrides)
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            for body in subscriptions(ok.url, refusing.url, dlq.url):
                created = (await api.post(SUBS, json=body)).json()
                fetched = (await api.get(f"{SUBS}/{created['id']}")).json()
                assert (await api.put(f"{SUBS}/{created['id']}", json=fetched)).status_code == 200
            masked = subscriptions(ok.url, refusing.url, dlq.url)[0]
            masked["deliveryConfig"]["headers"] = {"Authorization": "***"}
            assert (await api.post(SUBS, json=masked)).status_code == 400
            assert (await api.post("/api/v2/eventbridge/events", json=EVENT)).status_code == 201
            await ok.wait_for(1)
            await dlq.wait_for(1)
            assert await wait_until(lambda: _letters(api))
        await asyncio.to_thread(kill, srv, signal.SIGTERM)
    assert ok.received[0].headers["Authorization"] == f"Bearer {BEARER}"  # the real one was used
    log = (tmp_path / "server.log").read_text()
    trail = audit.read_text()
    # 2 creates, 2 updates and the refused masked create: the grep has text
    assert "dead letter" in log and len(trail.splitlines()) == 5
    for secret in (BEARER, API_KEY, PASSWORD, DLQ_PASSWORD):
        assert secret not in log and secret not in trail


async def _letters(api: httpx.AsyncClient) -> list[Any]:
    return list((await api.get("/api/v2/eventbridge/deadletters")).json()["entities"])
