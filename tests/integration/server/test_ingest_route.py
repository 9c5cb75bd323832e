"""`POST /ingest` on the real server: JWT, schema, mapping, idempotency, and delivery onwards."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from ccbridge.ingest.testing import LegacyIssuer, orders_source
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import running_server

ORDER = {
    "event_type": "order_created",
    "transaction_id": "tx-42",
    "amount": 19.5,
    "currency": "EUR",
    "timestamp": 1732442400,
}
SCHEMA = {
    "type": "object",
    "required": ["event_type", "transaction_id", "amount", "currency", "timestamp"],
    "properties": {"amount": {"type": "number"}, "currency": {"type": "string", "minLength": 3}},
}


def ingest_config(folder: Path, issuer: LegacyIssuer) -> dict[str, object]:
    issuer.write_pem(folder / "keys" / "erp.pem")
    (folder / "order.json").write_text(json.dumps(SCHEMA))
    return {
        "ingest": {
            "jwt": {
                "public_key_files": ["keys/erp.pem"],
                "issuer": "legacy-erp",
                "audience": "ccbridge",
                "algorithms": ["ES256"],
            },
            "sources": [orders_source("order.json")],
        }
    }


async def test_legacy_event_is_verified_mapped_stored_and_delivered(tmp_path: Path) -> None:
    """A signed legacy order is 202, delivered in the mapped envelope, and a repeat stores nothing new."""
    issuer = LegacyIssuer("ES256")
    async with (
        running_server(ingest_config(tmp_path, issuer), folder=tmp_path) as srv,
        WebhookReceiver() as receiver,
    ):
        token = await srv.token()
        async with httpx.AsyncClient(base_url=srv.base_url) as client:
            await client.post(
                "/api/v2/eventbridge/subscriptions",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "name": "orders",
                    "eventTypes": ["custom.legacy.orders.order_created"],
                    "deliveryConfig": {"url": receiver.url},
                },
            )
            first = await client.post("/ingest", json=ORDER, headers=issuer.bearer())
            again = await client.post("/ingest", json={**ORDER, "amount": 20}, headers=issuer.bearer())
            forged = await client.post("/ingest", json=ORDER, headers=LegacyIssuer("ES256").bearer())
            invalid = await client.post("/ingest", json={**ORDER, "currency": 5}, headers=issuer.bearer())
        [delivered] = await receiver.wait_for(1)
    assert first.status_code == 202 and first.json()["status"] == "accepted"
    assert again.status_code == 202 and again.json() == first.json()
    assert forged.status_code == 401 and "BEGIN" not in forged.text
    assert invalid.status_code == 422
    assert [e["field"] for e in invalid.json()["errors"]] == ["currency"]
    body = delivered.json()
    assert body["event"] == "custom.legacy.orders.order_created"
    assert body["time"] == "2024-11-24T10:00:00Z"
    assert body["data"] == {
        "transaction_id": "tx-42",
        "amount": 19.5,
        "currency": "EUR",
        "original_type": "order_created",
        "channel": "erp",
        "region": "unknown",
    }
    assert body["source"] == {"system": "legacy-ordering-platform", "version": "2.1.0"}


async def test_ingest_is_documented_when_configured(tmp_path: Path) -> None:
    """With an `ingest:` section /openapi.json describes POST /ingest: its body, 202 and its problems."""
    config = ingest_config(tmp_path, LegacyIssuer("ES256"))
    async with (
        running_server(config, folder=tmp_path) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as client,
    ):
        operation = (await client.get("/openapi.json")).json()["paths"]["/ingest"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]
    assert operation["responses"]["202"]["content"]["application/json"]["schema"]
    assert {"401", "422", "429", "503"} <= set(operation["responses"])
    assert set(operation["responses"]["429"]["content"]) == {"application/problem+json"}
