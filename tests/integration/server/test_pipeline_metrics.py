"""Issue 18's figures in `/metrics`, read from the real server after real traffic: ingest-to-ack and
ingest-to-delivery latency, deliveries by endpoint and status class, commit batch sizes, tokens."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ccbridge.core.redact import mask_url
from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.server import CLIENT_ID, RunningServer, running_server, wait_until

SUBS = "/api/v2/eventbridge/subscriptions"
EVENT = {"eventType": "contact.created", "attributes": {"n": 1}, "timestamp": "2026-11-24T10:00:00Z"}
FAST = {"maxRetries": 1, "backoffStrategy": "linear", "initialDelayMs": 10, "maxDelayMs": 20}


async def samples(srv: RunningServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with httpx.AsyncClient(base_url=srv.base_url) as client:
        text = (await client.get("/metrics")).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_pipeline_figures_follow_the_traffic() -> None:
    async with (
        running_server() as srv,
        WebhookReceiver() as ok,
        WebhookReceiver(Behaviour(fail_first=1, fail_status=503)) as flaky,
    ):
        async with httpx.AsyncClient(base_url=srv.base_url) as client:
            refused = await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "no"},
            )
        assert refused.status_code == 401
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            created = await api.post(
                SUBS,
                json={
                    "name": "m",
                    "eventType": "contact.created",
                    "endpoints": [{"url": ok.url}, {"url": flaky.url}],
                    "retryConfiguration": FAST,
                },
            )
            assert created.status_code == 201
            assert (await api.post("/api/v2/eventbridge/events", json=EVENT)).status_code == 201
            await ok.wait_for(1)
            await flaky.wait_for(2)

        async def settled() -> dict[Any, float] | None:
            found = await samples(srv)
            done = value(found, "ccbridge_ingest_to_delivery_seconds_count", endpoint_type="webhook") == 2
            return found if done else None

        found = await wait_until(settled)
        okay, bad = mask_url(ok.url), mask_url(flaky.url)
    assert value(found, "ccbridge_token_requests_total", result="issued") == 1
    assert value(found, "ccbridge_token_requests_total", result="invalid_client") == 1
    assert value(found, "ccbridge_ingest_ack_seconds_count", route="/api/v2/eventbridge/events") == 1
    assert value(found, "ccbridge_ingest_ack_seconds_sum", route="/api/v2/eventbridge/events") > 0
    delivered = {"status_class": "2xx", "outcome": "delivered"}
    assert value(found, "ccbridge_endpoint_deliveries_total", endpoint=okay, **delivered) == 1
    assert (
        value(found, "ccbridge_endpoint_deliveries_total", endpoint=bad, status_class="5xx", outcome="retry")
        == 1
    )
    assert value(found, "ccbridge_endpoint_deliveries_total", endpoint=bad, **delivered) == 1
    batches = value(found, "ccbridge_store_commit_batch_size_count")
    assert batches >= 3  # the subscription, the event with its deliveries, the settlements at least
    assert value(found, "ccbridge_store_commit_batch_size_sum") >= batches
