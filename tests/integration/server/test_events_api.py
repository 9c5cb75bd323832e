"""Event ingestion: both dialects, idempotency keys, correlation ids, size and schema errors."""

from __future__ import annotations

import asyncio

import httpx
from server_payloads import CXONE_EVENT, GENESYS_EVENT

from ccbridge.testing.server import running_server

EVENTS = "/api/v2/eventbridge/events"
CXONE, GENESYS = CXONE_EVENT, GENESYS_EVENT


async def test_both_dialects_are_stored_with_201(api: httpx.AsyncClient) -> None:
    """CXone and Genesys bodies both answer 201 with id, type, correlation id and receivedAt."""
    for body in (CXONE, GENESYS):
        response = await api.post(EVENTS, json=body, headers={"X-Correlation-Id": "trace-abc-123"})
        assert response.status_code == 201, response.text
        ack = response.json()
        assert ack["eventType"] == body["eventType"]
        assert ack["correlationId"] == "trace-abc-123"
        assert response.headers["x-correlation-id"] == "trace-abc-123"
        assert ack["receivedAt"].endswith("Z")


async def test_repeat_key_answers_original_even_with_new_body(api: httpx.AsyncClient) -> None:
    """The same X-Idempotency-Key within 24 h answers 200 with the first id, whatever the body."""
    first = await api.post(EVENTS, json=CXONE, headers={"X-Idempotency-Key": "k-1"})
    changed = {**CXONE, "timestamp": "2026-11-24T11:00:00Z"}
    second = await api.post(EVENTS, json=changed, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["idempotencyKey"] == "k-1"


async def test_no_key_means_a_new_event_each_time(api: httpx.AsyncClient) -> None:
    """Without an idempotency key two identical posts are two events, and a correlation id is made."""
    a = (await api.post(EVENTS, json=CXONE)).json()
    b = (await api.post(EVENTS, json=CXONE)).json()
    assert a["id"] != b["id"]
    assert a["correlationId"] and a["correlationId"] != b["correlationId"]


async def test_concurrent_repeats_store_one_event(server: object) -> None:
    """Twenty concurrent posts with one key produce one stored event and one 201."""
    async with running_server() as srv:
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            answers = await asyncio.gather(
                *(api.post(EVENTS, json=CXONE, headers={"Idempotency-Key": "same"}) for _ in range(20))
            )
        assert srv.runtime is not None
        stored = await srv.runtime.store.count_events()
    assert sorted(a.status_code for a in answers) == [200] * 19 + [201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert stored == 1


async def test_schema_errors_list_every_field(api: httpx.AsyncClient) -> None:
    """Bad type, bad time and missing data are reported together as 400 problem+json."""
    response = await api.post(
        EVENTS, json={"eventType": "orders.created", "eventTime": "yesterday", "source": "erp"}
    )
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"eventType", "eventTime", "data"}
    cxone = await api.post(
        EVENTS, json={"eventType": "no.such.type", "attributes": [], "timestamp": "2026-13-01"}
    )
    assert {e["field"] for e in cxone.json()["errors"]} == {"eventType", "attributes", "timestamp"}


async def test_not_json_is_400_and_too_large_is_413() -> None:
    """A body that is not JSON is 400; one over limits.max_body_bytes is 413; neither is stored."""
    async with running_server({"limits": {"max_body_bytes": 2048}}) as srv:
        token = await srv.token()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with httpx.AsyncClient(base_url=srv.base_url, headers=headers) as api:
            broken = await api.post(EVENTS, content=b"{not json")
            big = await api.post(EVENTS, json={**CXONE, "attributes": {"blob": "x" * 4096}})
        assert srv.runtime is not None
        stored = await srv.runtime.store.count_events()
    assert broken.status_code == 400
    assert big.status_code == 413
    assert stored == 0


async def test_event_write_scope_is_required(server: object) -> None:
    """A token with only subscription scopes cannot publish (403)."""
    async with running_server() as srv:
        token = await srv.token("eventbridge:subscriptions:read")
        async with httpx.AsyncClient(base_url=srv.base_url) as client:
            response = await client.post(EVENTS, json=CXONE, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


async def test_ops_routes(api: httpx.AsyncClient) -> None:
    """healthz, readyz, metrics and the OpenAPI document answer without a token."""
    await api.post(EVENTS, json=CXONE)
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    assert (await api.get("/readyz")).status_code == 200
    metrics = (await api.get("/metrics")).text
    assert 'ccbridge_events_received_total{dialect="cxone",outcome="created"} 1.0' in metrics
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert "/api/v2/eventbridge/events" in paths and "/api/v2/oauth/token" in paths
