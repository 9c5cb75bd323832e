"""`POST /events`: platform webhooks in, checked against every configured secret, stored once."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from ccbridge.core import signatures
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, running_server

OLD = "old-genesys-secret-123"
NEW = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
JSON = {"Content-Type": "application/json"}
"""How platforms send their webhooks (any other media type is a 415)."""


@pytest.fixture
async def inbound_server() -> AsyncIterator[RunningServer]:
    async with running_server(
        {"inbound": {"secrets": [OLD, NEW]}, "limits": {"max_body_bytes": 4096}}
    ) as srv:
        yield srv


def interaction(call_id: str, duration: int = 300) -> bytes:
    return json.dumps(
        {
            "event": "routing:interaction:completed",
            "data": {"channel": "voice", "duration": duration, "wrapupcode": {"name": "Sale"}},
            "metadata": {"id": call_id, "timestamp": "2026-11-24T10:00:00Z"},
        }
    ).encode()


async def count(srv: RunningServer) -> int:
    assert srv.runtime is not None
    return await srv.runtime.store.count_events()


async def test_each_signature_scheme_is_accepted_with_rotation(inbound_server: RunningServer) -> None:
    """Genesys hex (old secret), Hub base64 and Standard Webhooks (new secret) all verify and store."""
    now = time.time()
    bodies = [interaction("c-1"), interaction("c-2"), interaction("c-3")]
    headers = [
        {"X-Genesys-Event-Signature": signatures.sign_genesys(OLD, bodies[0])},
        {"X-Hub-Signature-256": signatures.sign_hub(NEW, bodies[1])},
        {
            "webhook-id": "msg-3",
            "webhook-timestamp": str(int(now)),
            "webhook-signature": signatures.sign_standard(NEW, "msg-3", now, bodies[2]),
        },
    ]
    async with httpx.AsyncClient(base_url=inbound_server.base_url, headers=JSON) as client:
        for body, extra in zip(bodies, headers, strict=True):
            response = await client.post(
                "/events", content=body, headers={**extra, "Content-Type": "application/json"}
            )
            assert response.status_code == 200, response.text
    assert await count(inbound_server) == 3


async def test_forged_missing_or_stale_signatures_are_refused_and_store_nothing(
    inbound_server: RunningServer,
) -> None:
    """A wrong key and a Standard Webhooks timestamp outside 5 minutes are 403 (a signature is there
    but does not verify, as seed 002's receiver answers); no signature at all is 401."""
    body = interaction("c-9")
    old = time.time() - 600
    cases = [
        ({"X-Genesys-Event-Signature": signatures.sign_genesys("not-the-secret", body)}, 403),
        ({"X-Hub-Signature-256": signatures.sign_hub("not-the-secret", body)}, 403),
        ({}, 401),
        (
            {
                "webhook-id": "m",
                "webhook-timestamp": str(int(old)),
                "webhook-signature": signatures.sign_standard(NEW, "m", old, body),
            },
            403,
        ),
        ({"webhook-signature": signatures.sign_standard(NEW, "m", time.time(), body)}, 403),
    ]
    async with httpx.AsyncClient(base_url=inbound_server.base_url, headers=JSON) as client:
        for headers, status in cases:
            response = await client.post("/events", content=body, headers=headers)
            assert response.status_code == status, headers
            assert response.json()["code"] == ("forbidden" if status == 403 else "unauthorized")
            assert OLD not in response.text and NEW not in response.text
    assert await count(inbound_server) == 0


async def test_not_json_400_too_large_413_and_repeats_stored_once(inbound_server: RunningServer) -> None:
    """Signed garbage is 400, an oversized body 413, and a redelivered webhook id is stored once."""
    garbage = b"{nope"
    big = interaction("c-big")[:-1] + b', "pad": "' + b"x" * 5000 + b'"}'
    body = interaction("c-dup")
    async with httpx.AsyncClient(base_url=inbound_server.base_url, headers=JSON) as client:
        bad = await client.post(
            "/events",
            content=garbage,
            headers={"X-Genesys-Event-Signature": signatures.sign_genesys(OLD, garbage)},
        )
        large = await client.post(
            "/events", content=big, headers={"X-Genesys-Event-Signature": signatures.sign_genesys(OLD, big)}
        )
        signed = {"X-Genesys-Event-Signature": signatures.sign_genesys(OLD, body)}
        first = await client.post("/events", content=body, headers=signed)
        second = await client.post("/events", content=body, headers=signed)
    assert (bad.status_code, large.status_code) == (400, 413)
    assert first.json()["duplicate"] is False and second.json() == {
        "id": first.json()["id"],
        "duplicate": True,
    }
    assert await count(inbound_server) == 1


async def test_inbound_events_are_delivered_like_any_other(inbound_server: RunningServer) -> None:
    """A signed inbound interaction reaches a subscriber of its type with the platform's data."""
    token = await inbound_server.token()
    async with (
        WebhookReceiver() as receiver,
        httpx.AsyncClient(base_url=inbound_server.base_url, headers=JSON) as client,
    ):
        await client.post(
            "/api/v2/eventbridge/subscriptions",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "name": "calls",
                "eventTypes": ["routing:interaction:completed"],
                "deliveryConfig": {"url": receiver.url},
                "filter": "data.duration > 120",
            },
        )
        for call_id, duration in (("a", 300), ("b", 30)):
            body = interaction(call_id, duration)
            await client.post(
                "/events",
                content=body,
                headers={"X-Genesys-Event-Signature": signatures.sign_genesys(OLD, body)},
            )
        [got] = await receiver.wait_for(1)
    assert got.json()["data"]["duration"] == 300
    assert got.json()["source"] == "genesys-cloud"
