"""Applying a plan against the fake server: idempotent writes, adoption, audit and registry sync."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from client_fakes import FakeApi, Fault, Sleeps
from pydantic import SecretStr

from ccbridge.client import BridgeClient, RegistryConfig, RetryOptions, apply_plan, idempotency_key, make_plan
from ccbridge.client.plan import desired_payload
from ccbridge.client.registry import RegistrySync
from ccbridge.core.retry import RetryPolicy
from ccbridge.core.signatures import verify_inbound
from ccbridge.observability.audit import AuditLog, verify

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


async def test_apply_creates_then_a_second_apply_writes_nothing(client: BridgeClient, fake: FakeApi) -> None:
    """The first apply creates both; planning again shows no changes and applying again sends no write."""
    _, report = await _apply(client, DESIRED)
    assert report.ok and [o.status for o in report.outcomes] == ["created", "created"]
    assert len(fake.writes()) == 2
    plan, again = await _apply(client, DESIRED)
    assert not plan.has_changes and again.outcomes == []
    assert len(fake.writes()) == 2


async def test_create_carries_the_seed_001_key(client: BridgeClient, fake: FakeApi) -> None:
    """A create's Idempotency-Key is the SHA-256 of the canonical JSON body it sends."""
    await _apply(client, DESIRED[:1])
    (request,) = fake.writes()
    assert request.headers["Idempotency-Key"] == idempotency_key(desired_payload(DESIRED[0]))
    assert orjson.loads(request.content) == desired_payload(DESIRED[0])


async def test_lost_create_answer_does_not_duplicate(client: BridgeClient, fake: FakeApi) -> None:
    """A create whose answer is lost is retried with its key and answered from the server's store."""
    fake.fail_next(Fault(503, "0", after=True))
    _, report = await _apply(client, DESIRED[:1])
    assert report.ok and len(fake.subscriptions) == 1


async def test_conflict_adopts_and_updates_the_existing_subscription(
    client: BridgeClient, fake: FakeApi
) -> None:
    """A 409 on create adopts the existing subscription by existingId and updates it to the desired state."""
    existing = fake.add({**DESIRED[0], "endpoints": [{"url": "https://old.example", "type": "webhook"}]})
    plan = make_plan(DESIRED[:1], [])  # planned before the other subscription appeared
    report = await apply_plan(client, plan)
    assert [(o.status, o.id) for o in report.outcomes] == [("adopted", existing["id"])]
    assert fake.subscriptions[existing["id"]]["endpoints"][0]["url"] == "https://h.example/a"
    assert fake.subscriptions[existing["id"]]["labels"] == {"managed-by": "ccbridge"}
    assert len(fake.subscriptions) == 1


async def test_conflict_with_an_identical_subscription_writes_nothing_more(
    client: BridgeClient, fake: FakeApi
) -> None:
    """Adopting a subscription that already matches sends no update."""
    fake.add(desired_payload(DESIRED[0]))
    report = await apply_plan(client, make_plan(DESIRED[:1], []))
    assert [o.status for o in report.outcomes] == ["adopted"]
    assert [r.method for r in fake.writes()] == ["POST"]


async def test_updates_and_deletes_of_managed_only(client: BridgeClient, fake: FakeApi) -> None:
    """Changed config updates in place; a managed one dropped from config is deleted, a foreign one kept."""
    await _apply(client, DESIRED)
    foreign = fake.add({"name": "foreign", "eventType": "contact.created", "endpoints": []})
    changed = [{**DESIRED[0], "description": "now described"}]
    plan, report = await _apply(client, changed)
    assert sorted((a.kind, a.name) for a in plan.actions) == [("delete", "orders"), ("update", "calls")]
    assert report.ok and foreign["id"] in fake.subscriptions and len(fake.subscriptions) == 2


async def test_failures_are_reported_and_the_rest_still_runs(client: BridgeClient, fake: FakeApi) -> None:
    """A 422 on one create is recorded as failed while the next create lands."""
    plan = make_plan(DESIRED, [])
    fake.fail_next(Fault(422))
    report = await apply_plan(client, plan)
    assert [o.status for o in report.outcomes] == ["failed", "created"] and not report.ok


async def test_every_write_is_audited(client: BridgeClient, fake: FakeApi, tmp_path: Path) -> None:
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


def _registry(handler: Any, sleeps: Sleeps | None = None) -> RegistrySync:
    options = RetryOptions(policy=RetryPolicy(2, "exponential", 0.01, 0.02), sleep=sleeps or Sleeps())
    config = RegistryConfig(
        webhook_url="https://registry.example/hook", secret=SecretStr("whsec_" + "A" * 40)
    )
    return RegistrySync(config, transport=httpx.MockTransport(handler), retry=options)


async def test_registry_receives_signed_state_changes(client: BridgeClient) -> None:
    """Each write's state change is POSTed to the registry, signed so the receiver can verify it."""
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    registry = _registry(handler)
    _, report = await _apply(client, DESIRED, registry=registry)
    assert await registry.drain() == []
    bodies = sorted(
        (orjson.loads(r.content)["state"], orjson.loads(r.content)["subscriptionId"]) for r in received
    )
    assert bodies == sorted(("active", o.id) for o in report.outcomes)
    for request in received:
        assert (
            verify_inbound(request.headers, request.content, ["whsec_" + "A" * 40], time.time()) == "standard"
        )
        assert request.headers["X-Genesys-Event-Signature"]
        assert "authorization" not in request.headers


async def test_registry_outage_never_fails_an_apply(client: BridgeClient) -> None:
    """With the registry down the apply still succeeds, and every unsent notification is returned."""

    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    sleeps = Sleeps()
    registry = _registry(down, sleeps)
    _, report = await _apply(client, DESIRED, registry=registry)
    failures = await registry.drain()
    assert report.ok
    assert sorted(f.subscription_id for f in failures) == sorted(str(o.id) for o in report.outcomes)
    assert all("503" in f.error for f in failures) and len(sleeps.delays) == 4  # retried in the background


async def test_registry_drain_gives_up_on_a_hanging_registry() -> None:
    """Notifications still in flight after the grace period are cancelled and reported as unsent."""
    import asyncio

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(204)

    registry = _registry(hang)
    registry.notify("sub-1", "active")
    failures = await registry.drain(grace=0.05)
    assert [(f.subscription_id, f.error) for f in failures] == [("sub-1", "not sent before shutdown")]
