"""`ccbridge subscriptions plan` exits 2 for exactly the subscriptions the real server's create refuses.

Each document of the table (both dialects) is declared in a config file and planned with the CLI,
and the same body apply would send is POSTed to the server. Where the server refuses (4xx), plan
exits 2 naming every field the server named, with the server's message, under `subscriptions[0]`;
where it accepts (201), plan exits 3 (one create). The table also pins which way each former
disagreement between the client's checks and the server's went.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
import yaml
from typer.testing import CliRunner

from ccbridge.cli import app
from ccbridge.client.plan import desired_payload
from ccbridge.testing.server import RunningServer, running_server

pytestmark = pytest.mark.asyncio(loop_scope="module")
SUBS = "/api/v2/eventbridge/subscriptions"
runner = CliRunner()


def cx(name: str, **changes: Any) -> dict[str, Any]:
    body = {"name": name, "eventType": "contact.created", "endpoints": [{"url": "https://h.example/a"}]}
    return {**body, **changes}


def endpoint(name: str, url: str, kind: str) -> dict[str, Any]:
    return cx(name, endpoints=[{"url": url, "type": kind}])


def gen(name: str, **delivery: Any) -> dict[str, Any]:
    config = {"deliveryType": "WEBHOOK", "url": "https://h.example/g", **delivery}
    return {"name": name, "eventTypes": ["routing:interaction:completed"], "deliveryConfig": config}


ACCEPTED: list[dict[str, Any]] = [
    cx("cx-minimal"),
    cx(
        "cx-seed-001",
        description="CRM sync",
        filters=[{"field": "contact.channelType", "operator": "eq", "value": "voice"}],
        deadLetterQueue={"enabled": True, "endpointUrl": "https://dlq.example.com/in", "retentionDays": 7},
        retryConfiguration={
            "maxRetries": 3,
            "backoffStrategy": "linear",
            "initialDelayMs": 100,
            "maxDelayMs": 900,
        },
        labels={"team": "crm"},
    ),
    cx("cx-pattern", pattern={"data": {"amount": [{"numeric": [">", 10]}]}}),
    cx("cx-custom-type", eventType="custom.order.created"),
    cx("cx-given-secret", secret="whsec_" + "A" * 32),
    endpoint("cx-grpc", "grpc://consumer:50051", "grpc"),
    endpoint("cx-grpcs-default-port", "grpcs://consumer.example", "grpc"),
    endpoint("cx-queue-nats", "nats://nats:4222/contact.events", "queue"),
    endpoint("cx-queue-amqp", "amqp://u:p@rabbit:5672/v?exchange=x&routing_key=y", "queue"),
    {
        **gen("gen-seed-002", headers={"X-Genesys-Event-Signature": "required"}),
        "filter": "data.channel == 'voice'",
    },
    {**gen("gen-description"), "description": "Genesys bodies may describe themselves too"},
    {**gen("gen-pattern"), "pattern": {"data": {"channel": ["voice"]}}},
    gen("gen-lowercase-type", deliveryType="webhook"),
    gen("gen-grpc", deliveryType="GRPC", url="grpc://consumer:50051"),
    gen("gen-queue", deliveryType="QUEUE", url="nats://nats:4222/interactions"),
]
REFUSED: list[dict[str, Any]] = [
    {"name": "no-dialect"},
    cx("cx-unknown-type", eventType="contact.exploded"),
    cx("cx-no-endpoints", endpoints=[]),
    cx("cx-too-many-endpoints", endpoints=[{"url": f"https://h{i}.example"} for i in range(11)]),
    cx("cx-bad-url", endpoints=[{"url": "not a url"}]),
    cx("cx-endpoint-type", endpoints=[{"url": "https://h.example", "type": "pigeon"}]),
    endpoint("cx-grpc-http", "http://consumer:50051", "grpc"),
    endpoint("cx-grpc-no-port", "grpc://consumer", "grpc"),
    endpoint("cx-queue-https", "https://h.example/q", "queue"),
    cx("cx-retry-float", retryConfiguration={"maxRetries": 1.5}),
    cx("cx-retry-order", retryConfiguration={"initialDelayMs": 500, "maxDelayMs": 100}),
    cx("cx-retention-zero", deadLetterQueue={"retentionDays": 0}),
    cx("cx-dlq-empty-url", deadLetterQueue={"endpointUrl": ""}),
    cx("cx-filter-operator", filters=[{"field": "a", "operator": "resembles", "value": "x"}]),
    cx("cx-pattern-operator", pattern={"data": {"x": [{"prefx": "a"}]}}),
    cx(
        "cx-filters-and-pattern",
        filters=[{"field": "a", "operator": "eq", "value": "x"}],
        pattern={"a": ["x"]},
    ),
    cx("cx-unknown-key", colour="red"),
    cx("cx-weak-secret", secret="hunter2"),
    cx("n" * 201),
    cx("cx-label-number", labels={"team": 7}),
    cx(
        "cx-many-faults",
        eventType="nope",
        endpoints=[{"url": "ftp://x"}],
        retryConfiguration={"maxRetries": -1},
    ),
    {**gen("gen-bad-expression"), "filter": "data.channel == "},
    {**gen("gen-unknown-type"), "eventTypes": ["routing:interaction:completed", "nope"]},
    {**gen("gen-no-types"), "eventTypes": []},
    gen("gen-delivery-type", deliveryType="CARRIER"),
    gen("gen-grpc-http", deliveryType="GRPC", url="http://consumer:50051"),
    gen("gen-queue-https", deliveryType="QUEUE", url="https://h.example/q"),
    gen("gen-delivery-key", retries=3),
    gen("gen-header-number", headers={"X-Count": 1}),
    {**gen("gen-filter-and-pattern"), "filter": "data.a == 1", "pattern": {"a": [1]}},
    {**gen("gen-cxone-key"), "endpoints": [{"url": "https://h.example"}]},
]
TABLE = [(doc, True) for doc in ACCEPTED] + [(doc, False) for doc in REFUSED]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[RunningServer]:
    async with running_server({"delivery": {"enabled": False}}) as srv:
        yield srv


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = await server.token()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
        yield client


def declare(server: RunningServer, folder: Path, doc: dict[str, Any]) -> Path:
    """The server's own config file with `doc` as its one declared subscription."""
    document = yaml.safe_load(server.config_path.read_text(encoding="utf-8"))
    path = folder / "declared.yaml"
    path.write_text(yaml.safe_dump({**document, "subscriptions": [doc]}), encoding="utf-8")
    return path


@pytest.mark.parametrize(("doc", "accepted"), TABLE, ids=[str(d.get("name"))[:24] for d, _ in TABLE])
async def test_plan_refuses_exactly_what_create_refuses(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path, doc: dict[str, Any], accepted: bool
) -> None:
    config = declare(server, tmp_path, doc)
    planned = await asyncio.to_thread(runner.invoke, app, ["subscriptions", "plan", "--config", str(config)])
    created = await api.post(SUBS, json=desired_payload(doc))
    if created.status_code == 201:
        assert (await api.delete(f"{SUBS}/{created.json()['id']}")).status_code == 204
    assert created.status_code == 201 if accepted else 400 <= created.status_code < 500, created.text
    if accepted:
        assert planned.exit_code == 3, planned.output
        return
    assert planned.exit_code == 2, planned.output
    for error in orjson.loads(created.content)["errors"]:
        assert f"subscriptions[0].{error['field']}: {error['message']}" in planned.output
