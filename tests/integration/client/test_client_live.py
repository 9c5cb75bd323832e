"""The client side against the real server on loopback: plan/apply, adoption, publish de-duplication,
and exactly-once landing under injected 429/503 faults (before and after the server did the work)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from client_support import ORDER
from pydantic import SecretStr
from typer.testing import CliRunner

from ccbridge.cli import app
from ccbridge.client import (
    ApiConfig,
    BridgeClient,
    PublishConfig,
    RetryOptions,
    apply_plan,
    make_plan,
    publish,
    publish_lines,
)
from ccbridge.core.retry import RetryPolicy
from ccbridge.observability.audit import AuditLog, verify
from ccbridge.testing.server import RunningServer, running_server

SCHEMA = Path(__file__).parent / "data" / "order_created.schema.json"
PUBLISH = {"event_types": {"OrderCreated": {"schema": str(SCHEMA), "business_key": "orderId"}}}
SUBS: list[dict[str, Any]] = [
    {
        "name": "voice-calls",
        "description": "completed voice calls",
        "eventType": "contact.created",
        "filters": [{"field": "channel", "operator": "eq", "value": "voice"}],
        "endpoints": [{"url": "https://hooks.example/calls", "type": "webhook"}],
        "deadLetterQueue": {"enabled": True, "retentionDays": 7},
        "retryConfiguration": {
            "maxRetries": 3,
            "backoffStrategy": "exponential",
            "initialDelayMs": 100,
            "maxDelayMs": 1000,
        },
    },
    {
        "name": "orders",
        "eventTypes": ["custom.order"],
        "filter": "data.total > 10",
        "deliveryConfig": {"deliveryType": "WEBHOOK", "url": "https://hooks.example/orders"},
    },
    {
        "name": "big-orders",
        "eventType": "OrderCreated",
        "pattern": {"data": {"totalAmount": [{"numeric": [">", 1000]}]}},
        "endpoints": [{"url": "https://hooks.example/big", "type": "webhook"}],
        "labels": {"team": "sales"},
    },
]
FAULTS = {"rate": 0.3, "statuses": [429, 503], "retry_after": 0.05, "seed": 1, "when": "both"}
PATIENT = RetryOptions(policy=RetryPolicy(20, "exponential", 0.01, 0.2))
runner = CliRunner()


class Recording(httpx.AsyncBaseTransport):
    """The real network, remembering each try's method and path."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.tries: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.tries.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)

    def writes(self) -> list[tuple[str, str]]:
        return [t for t in self.tries if t[0] != "GET" and "oauth" not in t[1]]

    async def aclose(self) -> None:
        await self.inner.aclose()


def settings(srv: RunningServer) -> ApiConfig:
    return ApiConfig(
        base_url=srv.base_url, client_id=srv.client_id, client_secret=SecretStr(srv.client_secret)
    )


def stored_events(srv: RunningServer) -> int:
    with sqlite3.connect(srv.folder / "ccbridge.db") as db:
        return int(db.execute("SELECT count(*) FROM events").fetchone()[0])


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[RunningServer]:
    overrides = {"subscriptions": SUBS, "publish": PUBLISH, "audit": {"path": str(tmp_path / "audit.jsonl")}}
    async with running_server(overrides) as server:
        yield server


async def cli(*args: str | Path) -> Any:
    """Runs a command in a thread: the CLI has its own event loop, the server lives in this one."""
    return await asyncio.to_thread(runner.invoke, app, [str(a) for a in args])


async def test_cli_plan_apply_then_nothing_to_do(srv: RunningServer, tmp_path: Path) -> None:
    """plan exits 3, apply creates all three, then plan exits 0, apply writes nothing, status settles."""
    config = srv.config_path
    planned = await cli("subscriptions", "plan", "--config", config, "--json")
    assert planned.exit_code == 3, planned.output
    assert orjson.loads(planned.output)["summary"]["create"] == 3
    applied = await cli("subscriptions", "apply", "--config", config, "--yes")
    assert applied.exit_code == 0, applied.output
    async with BridgeClient(settings(srv)) as client:
        before = await client.list_subscriptions()
    assert sorted(s["name"] for s in before) == sorted(s["name"] for s in SUBS)
    again = await cli("subscriptions", "plan", "--config", config)
    assert again.exit_code == 0, again.output
    noop = await cli("subscriptions", "apply", "--config", config, "--yes")
    assert noop.exit_code == 0 and "No changes." in noop.output
    async with BridgeClient(settings(srv)) as client:
        assert await client.list_subscriptions() == before  # not even updatedDate moved
    status = await cli("subscriptions", "status", "--config", config, "--timeout", "5", "--json")
    assert status.exit_code == 0, status.output
    assert verify(tmp_path / "audit.jsonl").ok
    assert (await cli("audit", "verify", tmp_path / "audit.jsonl")).exit_code == 0


async def test_second_apply_sends_no_write(srv: RunningServer) -> None:
    """After one apply, planning and applying again sends no POST, PUT or DELETE at all."""
    network = Recording()
    async with BridgeClient(settings(srv), transport=network) as client:
        report = await apply_plan(client, make_plan(SUBS, await client.list_subscriptions()))
        assert report.ok and len(network.writes()) == 3
        plan = make_plan(SUBS, await client.list_subscriptions())
        assert not plan.has_changes, plan.as_dict()
        await apply_plan(client, plan)
    assert len(network.writes()) == 3


async def test_conflict_on_create_adopts_the_existing_subscription(srv: RunningServer) -> None:
    """A same-named subscription created after planning is adopted on 409 and brought to the desired state."""
    async with BridgeClient(settings(srv)) as client:
        plan = make_plan(SUBS[:1], await client.list_subscriptions())
        foreign = {**SUBS[0], "description": "made by hand"}
        existing = (await client.create_subscription(foreign)).body
        report = await apply_plan(client, plan)
        assert [(o.status, o.id) for o in report.outcomes] == [("adopted", existing["id"])]
        (adopted,) = await client.list_subscriptions()
        assert adopted["description"] == SUBS[0]["description"]
        assert adopted["labels"] == {"managed-by": "ccbridge"}
        assert not make_plan(SUBS[:1], [adopted]).has_changes


async def test_publish_is_deduplicated_by_business_key(srv: RunningServer) -> None:
    """The same order published twice is stored once; the second answer is the original, as a duplicate."""
    config = PublishConfig.model_validate(PUBLISH)
    async with BridgeClient(settings(srv)) as client:
        first = await publish(client, "OrderCreated", ORDER, config=config, correlation_id="trace-1")
        second = await publish(client, "OrderCreated", {**ORDER, "totalAmount": 9}, config=config)
    assert not first.duplicate and second.duplicate
    assert second.event_id == first.event_id and second.idempotency_key == first.idempotency_key
    assert stored_events(srv) == 1


async def test_cli_publish_one_and_a_file(srv: RunningServer, tmp_path: Path) -> None:
    """publish prints the event id and key; --file counts published, duplicates and rejected lines."""
    one = await cli(
        "publish",
        "--config",
        srv.config_path,
        "--type",
        "OrderCreated",
        "--data",
        orjson.dumps(ORDER).decode(),
    )
    assert one.exit_code == 0, one.output
    assert "idempotency key" in one.output and "published event" in one.output
    lines = [{"type": "OrderCreated", "data": {**ORDER, "orderId": f"ORD-{i:010d}"}} for i in range(20)]
    lines += [{"type": "OrderCreated", "data": ORDER}, {"type": "OrderCreated", "data": {"orderId": "x"}}]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    batch = await cli("publish", "--config", srv.config_path, "--file", events, "--json")
    assert batch.exit_code == 1
    counts = orjson.loads(batch.output)
    assert (counts["published"], counts["duplicates"], counts["rejected"]) == (20, 1, 1)
    assert stored_events(srv) == 21


async def test_under_injected_faults_everything_lands_exactly_once(tmp_path: Path) -> None:
    """With 30 % of requests answered 429/503 (before or after the work) each write lands exactly once."""
    audit = tmp_path / "audit.jsonl"
    overrides = {"faults": FAULTS, "subscriptions": SUBS, "audit": {"path": str(audit)}}
    config = PublishConfig.model_validate(PUBLISH)
    async with running_server(overrides) as server, BridgeClient(settings(server), retry=PATIENT) as client:
        plan = make_plan(SUBS, await client.list_subscriptions())
        report = await apply_plan(client, plan, audit=AuditLog(audit))
        assert report.ok, report.outcomes
        orders = [{**ORDER, "orderId": f"ORD-{i:010d}"} for i in range(60)]
        results = await asyncio.gather(*(publish(client, "OrderCreated", o, config=config) for o in orders))
        lines = [orjson.dumps({"type": "OrderCreated", "data": o}).decode() for o in orders[:10]]
        batch = await publish_lines(client, lines, config=config, concurrency=4)
        changed = [{**SUBS[0], "description": "changed"}, SUBS[1]]  # one update, one delete
        second = await apply_plan(
            client, make_plan(changed, await client.list_subscriptions()), audit=AuditLog(audit)
        )
        assert second.ok and sorted(o.status for o in second.outcomes) == ["deleted", "updated"]
        current = await client.list_subscriptions()
        replanned = make_plan(changed, current)
        stored = stored_events(server)
        injected = getattr(server.runtime.app if server.runtime else None, "injected", None)
    assert injected is not None and injected > 20  # the faults really happened
    assert sorted(s["name"] for s in current) == ["orders", "voice-calls"]
    assert not replanned.has_changes
    assert len({r.event_id for r in results}) == 60 and stored == 60
    assert batch.duplicates == 10 and not batch.rejected
    assert {r.event_id for r in batch.results} <= {r.event_id for r in results}
    assert verify(audit).ok and len(audit.read_bytes().splitlines()) >= 3
