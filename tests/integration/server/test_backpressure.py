"""Backpressure on the real server: past `limits.max_pending` unsettled deliveries every ingestion route
(events in both dialects, `/events`, `/ingest`) answers 503 with `Retry-After`, stores nothing, and
/metrics and delivery-status say so; once deliveries drain, the same requests are taken."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from server_payloads import CXONE_EVENT, GENESYS_EVENT
from test_ingest_route import ORDER, ingest_config

from ccbridge.core import signatures
from ccbridge.core.ports import Settlement
from ccbridge.ingest.testing import LegacyIssuer
from ccbridge.testing.server import running_server

INBOUND_SECRET = "inbound-secret-0123"
TYPES = ["OrderCreated", "custom.legacy.orders.order_created", "routing:interaction:completed"]


def inbound_body() -> bytes:
    return json.dumps(
        {
            "event": "routing:interaction:completed",
            "data": {"channel": "voice"},
            "metadata": {"id": "call-1", "timestamp": "2026-11-24T10:00:00Z"},
        }
    ).encode()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


async def test_past_max_pending_every_ingestion_route_answers_503_and_nothing_is_lost(tmp_path: Path) -> None:
    issuer = LegacyIssuer("ES256")
    overrides = {
        **ingest_config(tmp_path, issuer),
        "limits": {"max_pending": 1},
        "delivery": {"enabled": False},  # nothing drains until the test settles by hand
        "inbound": {"secrets": [INBOUND_SECRET]},
    }
    async with running_server(overrides, folder=tmp_path) as srv:
        assert srv.runtime is not None
        store = srv.runtime.store
        token = await srv.token()
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=srv.base_url) as client:
            created = await client.post(
                "/api/v2/eventbridge/subscriptions",
                headers=auth,
                json={"name": "all", "eventTypes": TYPES, "deliveryConfig": {"url": "http://127.0.0.1:9/x"}},
            )
            assert created.status_code == 201, created.text
            sub_id = created.json()["id"]
            body = inbound_body()

            async def attempts() -> list[httpx.Response]:
                return [
                    await client.post(
                        "/api/v2/eventbridge/events",
                        json=CXONE_EVENT,
                        headers={**auth, "Idempotency-Key": "c"},
                    ),
                    await client.post(
                        "/api/v2/eventbridge/events",
                        json=GENESYS_EVENT,
                        headers={**auth, "Idempotency-Key": "g"},
                    ),
                    await client.post(
                        "/events",
                        content=body,
                        headers={
                            "Content-Type": "application/json",
                            "X-Genesys-Event-Signature": signatures.sign_genesys(INBOUND_SECRET, body),
                        },
                    ),
                    await client.post("/ingest", json=ORDER, headers=issuer.bearer()),
                ]

            first = await client.post(
                "/api/v2/eventbridge/events", json=CXONE_EVENT, headers={**auth, "Idempotency-Key": "first"}
            )
            assert first.status_code == 201, first.text
            refused = await attempts()
            status = (
                await client.get(f"/api/v2/eventbridge/subscriptions/{sub_id}/delivery-status", headers=auth)
            ).json()
            scraped = (await client.get("/metrics")).text
            stored_while_full = await store.count_events()

            jobs = await store.lease("test", 10, 30)  # the pending delivery is delivered: room again
            assert len(jobs) == 1
            await store.settle("test", [Settlement(j.id, "delivered", 1, status=200) for j in jobs])
            cxone = await client.post(
                "/api/v2/eventbridge/events", json=CXONE_EVENT, headers={**auth, "Idempotency-Key": "c"}
            )
    for answer in refused:
        assert answer.status_code == 503, (answer.request.url, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["title"] == "overloaded"
        assert int(answer.headers["Retry-After"]) >= 1
    assert stored_while_full == 1
    assert "limits.max_pending" in status["backpressure"]
    assert metric(scraped, "ccbridge_events_refused_total") == 4
    assert metric(scraped, "ccbridge_deliveries_pending_limit") == 1
    assert cxone.status_code == 201, cxone.text
