"""Applying a plan against the real app: idempotent writes, adoption, audit, and registry sync to a
real (loopback) registry receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from client_support import Bridge, Fault, Sleeps
from pydantic import SecretStr

from ccbridge.client import BridgeClient, RegistryConfig, RetryOptions, apply_plan, idempotency_key, make_plan
from ccbridge.client.plan import desired_payload
from ccbridge.client.registry import RegistrySync
from ccbridge.core.retry import RetryPolicy
from ccbridge.observability.audit import AuditLog, verify
from ccbridge.testing.receiver import Behaviour, WebhookReceiver

REGISTRY_SECRET = "whsec_" + "A" * 40
DESIRED: list[dict[str, Any]] = [
    {
        "name": "calls",
        "eventType": "contact.created",
        "endpoints": [{"url": "https://h.example/a", "type": "webhook"}],
    },
    {
        "name": "orders",
        "eventTypes": ["custom.order"],
        "deliveryConfig": {"deliveryType": "WEBHOOK", "url": "https://h.example/o"},
    },
]


async def _apply(client: BridgeClient, desired: list[dict[str, Any]], **kwargs: Any) -> Any:
    plan = make_plan(desired, await client.list_subscriptions())
    return plan, await apply_plan(client, plan, **kwargs)


async def test_apply_creates_then_a_second_apply_writes_nothing(bridge: Bridge, client: BridgeClient) -> None:
    """The first apply creates both; planning again shows no changes and applying again sends no write."""
    _, report = await _apply(client, DESIRED)
    assert report.ok and [o.status for o in report.outcomes] == ["created", "created"]
    assert len(bridge.wire.writes()) == 2
    plan, again = await _apply(client, DESIRED)
    assert not plan.has_changes and again.outcomes == []
    assert len(bridge.wire.writes()) == 2


async def test_create_carries_the_seed_001_key(bridge: Bridge, client: BridgeClient) -> None:
    """A create's Idempotency-Key is the SHA-256 of the canonical JSON body it sends."""
    await _apply(client, DESIRED[:1])
    (request,) = bridge.wire.writes()
    assert request.headers["Idempotency-Key"] == idempotency_key(desired_payload(DESIRED[0]))
    assert orjson.loads(request.content) == desired_payload(DESIRED[0])


async def test_lost_create_answer_does_not_duplicate(bridge: Bridge, client: BridgeClient) -> None:
    """A create whose answer is lost is retried with its key and answered from the server's store."""
    plan = make_plan(DESIRED[:1], await client.list_subscriptions())
    bridge.wire.fail_next(Fault(503, "0", after=True))
    report = await apply_plan(client, plan)
    assert report.ok and [r.method for r in bridge.wire.writes()] == ["POST", "POST"]
    assert len(await client.list_subscriptions()) == 1


async def test_conflict_adopts_and_updates_the_existing_subscription(client: BridgeClient) -> None:
    """A 409 on create adopts the existing subscription by existingId and updates it to the desired state."""
    plan = make_plan(DESIRED[:1], [])  # planned before the other subscription appeared
    old = {**DESIRED[0], "endpoints": [{"url": "https://old.example", "type": "webhook"}]}
    existing = (await client.create_subscription(old)).body
    report = await apply_plan(client, plan)
    assert [(o.status, o.id) for o in report.outcomes] == [("adopted", existing["id"])]
    (adopted,) = await client.list_subscriptions()
    assert adopted["endpoints"][0]["url"] == "https://h.example/a"
    assert adopted["labels"] == {"managed-by": "ccbridge"}


async def test_conflict_with_an_identical_subscription_writes_nothing_more(
    bridge: Bridge, client: BridgeClient
) -> None:
    """Adopting a subscription that already matches sends no update."""
    await client.create_subscription(desired_payload(DESIRED[0]))
    before = len(bridge.wire.writes())
    report = await apply_plan(client, make_plan(DESIRED[:1], []))
    assert [o.status for o in report.outcomes] == ["adopted"]
    assert [r.method for r in bridge.wire.writes()[before:]] == ["POST"]


async def test_updates_and_deletes_of_managed_only(client: BridgeClient) -> None:
    """Changed config updates in place; a managed one dropped from config is deleted, a foreign one kept."""
    await _apply(client, DESIRED)
    foreign = {"name": "foreign", "eventType": "contact.created", "endpoints": [{"url": "https://f.example"}]}
    foreign_id = (await client.create_subscription(foreign)).body["id"]
    changed = [{**DESIRED[0], "description": "now described"}]
    plan, report = await _apply(client, changed)
    assert sorted((a.kind, a.name) for a in plan.actions) == [("delete", "orders"), ("update", "calls")]
    left = {s["name"]: s for s in await client.list_subscriptions()}
    assert report.ok and sorted(left) == ["calls", "foreign"] and left["foreign"]["id"] == foreign_id
    assert left["calls"]["description"] == "now described"


async def test_failures_are_reported_and_the_rest_still_runs(client: BridgeClient) -> None:
    """A create the server refuses is recorded as failed while the next create lands."""
    refused = {**DESIRED[0], "endpoints": [{"url": "ftp://nowhere.example", "type": "webhook"}]}
    report = await apply_plan(client, make_plan([refused, DESIRED[1]], []))
    assert [o.status for o in report.outcomes] == ["failed", "created"] and not report.ok
    assert "endpoints[0].url" in str(report.outcomes[0].error)
    assert [s["name"] for s in await client.list_subscriptions()] == ["orders"]


async def test_every_write_is_audited(client: BridgeClient, tmp_path: Path) -> None:
    """Each create/update/delete appends a chained line with actor, id, status and key; no secret."""
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path, fsync=False)
    await _apply(client, DESIRED, audit=audit)
    await _apply(client, [{**DESIRED[0], "description": "d"}], audit=audit)
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [(r["operation"], r["status"]) for r in records] == [
        ("create", "created"),
        ("create", "created"),
        ("delete", "deleted"),
        ("update", "updated"),
    ]
    assert all(r["actor"] == "cli" and r["subscriptionId"] and r["idempotencyKey"] for r in records)
    assert b"whsec_" not in path.read_bytes() and b"s3cret" not in path.read_bytes()
    assert verify(path).ok


@pytest.fixture
async def registry_receiver() -> AsyncIterator[WebhookReceiver]:
    """Seed 001's infrastructure registry: a real HTTP receiver on loopback that checks signatures."""
    async with WebhookReceiver(secrets=[REGISTRY_SECRET]) as receiver:
        yield receiver


def _registry(receiver: WebhookReceiver, sleeps: Sleeps | None = None) -> RegistrySync:
    options = RetryOptions(policy=RetryPolicy(2, "exponential", 0.01, 0.02), sleep=sleeps or Sleeps())
    config = RegistryConfig(webhook_url=receiver.url, secret=SecretStr(REGISTRY_SECRET))
    return RegistrySync(config, retry=options)


async def test_registry_receives_signed_state_changes(
    client: BridgeClient, registry_receiver: WebhookReceiver
) -> None:
    """Each write's state change is POSTed to the registry, signed so the receiver can verify it."""
    registry = _registry(registry_receiver)
    _, report = await _apply(client, DESIRED, registry=registry)
    assert await registry.drain() == []
    received = registry_receiver.received
    bodies = sorted((r.json()["state"], r.json()["subscriptionId"]) for r in received)
    assert bodies == sorted(("active", o.id) for o in report.outcomes)
    assert all(r.standard_valid and r.genesys_valid for r in received)
    assert registry_receiver.valid_signatures == 2 and registry_receiver.invalid_signatures == 0
    assert all("authorization" not in r.headers for r in received)


async def test_registry_outage_never_fails_an_apply(
    client: BridgeClient, registry_receiver: WebhookReceiver
) -> None:
    """With the registry answering 503 the apply still succeeds, and every unsent notification is returned."""
    registry_receiver.behave(status=503)
    sleeps = Sleeps()
    registry = _registry(registry_receiver, sleeps)
    _, report = await _apply(client, DESIRED, registry=registry)
    failures = await registry.drain()
    assert report.ok
    assert sorted(f.subscription_id for f in failures) == sorted(str(o.id) for o in report.outcomes)
    assert all("503" in f.error for f in failures)
    assert len(sleeps.delays) == 4 and len(registry_receiver.received) == 6  # retried in the background


async def test_registry_drain_gives_up_on_a_hanging_registry(registry_receiver: WebhookReceiver) -> None:
    """Notifications still unanswered after the grace period are cancelled and reported as unsent."""
    registry_receiver.behave(Behaviour(delay=600))
    registry = _registry(registry_receiver)
    registry.notify("sub-1", "active")
    await registry_receiver.wait_for(1)
    failures = await registry.drain(grace=0.05)
    assert [(f.subscription_id, f.error) for f in failures] == [("sub-1", "not sent before shutdown")]
