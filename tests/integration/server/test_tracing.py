"""W3C trace context and OpenTelemetry spans on the real server: a caller's `traceparent` is taken on
every inbound route and sent on every delivery (webhook header, gRPC metadata, queue headers), and
with tracing configured the ingest, store commit and delivery attempt spans form one trace (read
back from the SDK's in-memory exporter)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_ingest_route import ORDER, ingest_config

from ccbridge.ingest.testing import LegacyIssuer
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.grpc_consumer import GrpcConsumer
from ccbridge.testing.server import RunningServer, running_server, wait_until

SUBS = "/api/v2/eventbridge/subscriptions"
EVENTS = "/api/v2/eventbridge/events"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
EVENT = {"eventType": "contact.created", "attributes": {"n": 1}, "timestamp": "2026-11-24T10:00:00Z"}
INBOUND_SECRET = "trace-inbound-secret-0123456789"


async def api_client(srv: RunningServer) -> httpx.AsyncClient:
    token = await srv.token()
    return httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"})


def trace_id_of(traceparent: str) -> str:
    return traceparent.split("-")[1]


async def test_a_callers_traceparent_reaches_webhook_grpc_and_nats_consumers() -> None:
    """Tracing off: the well-formed traceparent given is forwarded unchanged on all three transports."""
    import nats

    subject = f"ccb.trace.{uuid.uuid4().hex[:10]}"
    nc = await nats.connect("nats://127.0.0.1:4222")
    got: asyncio.Queue[Any] = asyncio.Queue()
    await nc.subscribe(subject, cb=got.put)
    await nc.flush()
    try:
        async with (
            running_server() as srv,
            WebhookReceiver() as hook,
            GrpcConsumer() as consumer,
            await api_client(srv) as api,
        ):
            created = await api.post(
                SUBS,
                json={
                    "name": "traced",
                    "eventType": "contact.created",
                    "endpoints": [
                        {"url": hook.url},
                        {"url": consumer.address, "type": "grpc"},
                        {"url": f"nats://127.0.0.1:4222/{subject}", "type": "queue"},
                    ],
                },
            )
            assert created.status_code == 201, created.text
            ack = await api.post(EVENTS, json=EVENT, headers={"traceparent": TRACEPARENT})
            assert ack.status_code == 201
            [webhook] = await hook.wait_for(1)
            [call] = await consumer.wait_for(1)
            message = await asyncio.wait_for(got.get(), 10)
    finally:
        await nc.close()
    assert webhook.headers["traceparent"] == TRACEPARENT
    assert call.metadata["traceparent"] == TRACEPARENT
    assert message.headers["traceparent"] == TRACEPARENT


@pytest.mark.parametrize(
    "bad", ["00-xyz-00f067aa0ba902b7-01", f"00-{'0' * 32}-00f067aa0ba902b7-01", TRACEPARENT.upper()]
)
async def test_a_malformed_traceparent_is_ignored_not_forwarded(bad: str) -> None:
    async with running_server() as srv, WebhookReceiver() as hook, await api_client(srv) as api:
        await api.post(
            SUBS, json={"name": "t", "eventType": "contact.created", "endpoints": [{"url": hook.url}]}
        )
        assert (await api.post(EVENTS, json=EVENT, headers={"traceparent": bad})).status_code == 201
        [webhook] = await hook.wait_for(1)
    assert "traceparent" not in webhook.headers


async def test_spans_of_ingest_store_commit_and_delivery_form_the_callers_trace() -> None:
    exporter = InMemorySpanExporter()
    async with (
        running_server(span_exporter=exporter) as srv,
        WebhookReceiver() as hook,
        await api_client(srv) as api,
    ):
        await api.post(
            SUBS, json={"name": "t", "eventType": "contact.created", "endpoints": [{"url": hook.url}]}
        )
        ack = (await api.post(EVENTS, json=EVENT, headers={"traceparent": TRACEPARENT})).json()
        [webhook] = await hook.wait_for(1)

        async def attempts() -> list[Any] | None:
            found = [s for s in exporter.get_finished_spans() if s.name == "delivery attempt"]
            return found or None

        [attempt] = await wait_until(attempts)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    ingest, commit = spans["ingest"], spans["store commit"]
    assert {format(s.context.trace_id, "032x") for s in (ingest, commit, attempt)} == {TRACE_ID}
    assert format(ingest.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert commit.parent.span_id == ingest.context.span_id
    assert attempt.parent.span_id == ingest.context.span_id
    assert (
        attempt.attributes["ccbridge.event_id"] == ack["id"] and attempt.attributes["ccbridge.attempt"] == 1
    )
    assert ingest.attributes["ccbridge.event_id"] == ack["id"]
    # the consumer is handed the delivery attempt's own span as its parent
    sent = webhook.headers["traceparent"]
    assert trace_id_of(sent) == TRACE_ID and sent.split("-")[2] == format(attempt.context.span_id, "016x")


async def test_the_inbound_webhook_and_ingest_routes_take_a_traceparent(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    issuer = LegacyIssuer("ES256")
    config = {**ingest_config(tmp_path, issuer), "inbound": {"secrets": [INBOUND_SECRET]}}
    async with (
        running_server(config, folder=tmp_path, span_exporter=exporter) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as client,
    ):
        body = json.dumps({"event": "contact.created", "data": {"x": 1}}).encode()
        signature = hmac.new(INBOUND_SECRET.encode(), body, hashlib.sha256).hexdigest()
        inbound = await client.post(
            "/events",
            content=body,
            headers={
                "X-Genesys-Event-Signature": signature,
                "traceparent": TRACEPARENT,
                "Content-Type": "application/json",
            },
        )
        ingest = await client.post(
            "/ingest", json=ORDER, headers={**issuer.bearer(), "traceparent": TRACEPARENT}
        )
    assert inbound.status_code == 200, inbound.text
    assert ingest.status_code == 202, ingest.text
    routes = [s.attributes["http.route"] for s in exporter.get_finished_spans() if s.name == "ingest"]
    assert sorted(routes) == ["/events", "/ingest"]
    assert {format(s.context.trace_id, "032x") for s in exporter.get_finished_spans()} == {TRACE_ID}
    assert len([s for s in exporter.get_finished_spans() if s.name == "store commit"]) == 2


def test_without_tracing_configured_no_opentelemetry_is_imported(tmp_path: Path) -> None:
    """Nothing of the SDK or an exporter is loaded. (FastAPI itself imports `opentelemetry`'s API
    package when it is installed, as it is beside FastAPI here: that part is not ccbridge's to avoid.)"""
    probe = (
        "import sys\n"
        "from ccbridge.bootstrap import build\n"
        "from ccbridge.config.load import parse_config\n"
        f"build(parse_config({{'store': {{'url': 'sqlite:///{tmp_path}/t.db'}}}}))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_otlp_configured_without_the_extra_is_a_config_error() -> None:
    probe = (
        "import sys\n"
        "sys.modules['opentelemetry.sdk'] = None\n"
        "from ccbridge.config.tracing import TracingConfig\n"
        "from ccbridge.errors import ConfigError\n"
        "from ccbridge.observability.tracing import build_tracing\n"
        "try:\n"
        "    build_tracing(TracingConfig(exporter='otlp'))\n"
        "except ConfigError as exc:\n"
        "    print('refused', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert (
        out.stdout.startswith("refused")
        and "tracing.exporter" in out.stdout
        and "ccbridge[otel]" in out.stdout
    )
