"""Events, deliveries, attempts, retry and replay jobs through the real server over loopback HTTP, on
the SQLite file and on PostgreSQL (a schema of the test's own)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from ccbridge.core.ports import ReplaySpec
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.core.times import iso
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, running_server, wait_until

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SUBS = "/api/v2/eventbridge/subscriptions"
EVENTS = "/api/v2/eventbridge/events"
DELIVERIES = "/api/v2/eventbridge/deliveries"
REPLAYS = "/api/v2/eventbridge/replays"
NO_RETRY = {"maxRetries": 0}


def order(n: int, kind: str = "OrderCreated") -> dict[str, Any]:
    return {
        "eventType": kind,
        "attributes": {"orderId": f"o-{n}", "n": n},
        "timestamp": "2026-11-24T10:00:00Z",
    }


@pytest.fixture(params=["sqlite", "postgres"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[RunningServer]:
    if request.param == "sqlite":
        async with running_server() as srv:
            yield srv
        return
    schema = f"ccb_hist_{uuid.uuid4().hex[:12]}"
    try:
        async with running_server({"store": {"url": POSTGRES_URL, "postgres_schema": schema}}) as srv:
            yield srv
    finally:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = await server.token()
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as r:
        yield r


async def subscribe(
    api: httpx.AsyncClient, name: str, url: str, kind: str = "OrderCreated", **extra: Any
) -> str:
    body = {
        "name": name,
        "eventType": kind,
        "endpoints": [{"url": url}],
        "retryConfiguration": NO_RETRY,
        **extra,
    }
    response = await api.post(SUBS, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def publish(api: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await api.post(EVENTS, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def deliveries_of(api: httpx.AsyncClient, event_id: str) -> list[dict[str, Any]]:
    return list((await api.get(f"{EVENTS}/{event_id}")).json()["deliveries"])


async def settled(api: httpx.AsyncClient, event_id: str, status: str, n: int = 1) -> bool:
    return sum(d["status"] == status for d in await deliveries_of(api, event_id)) >= n


async def test_an_events_attempts_are_shown_and_a_dead_delivery_retried(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """A 400 dead-letters the delivery with its attempt recorded; a retry delivers it; both attempts show."""
    receiver.behave(status=400)
    sub_id = await subscribe(api, "orders", receiver.url)
    event_id = await publish(api, order(1))
    assert await wait_until(lambda: settled(api, event_id, "dead"), timeout=10)
    shown = (await api.get(f"{EVENTS}/{event_id}")).json()
    assert shown["type"] == "OrderCreated" and shown["deliveryCounts"]["dead"] == 1
    [delivery] = shown["deliveries"]
    assert (delivery["subscriptionId"], delivery["endpointUrl"], delivery["attempts"]) == (
        sub_id,
        receiver.url,
        1,
    )
    [attempt] = (await api.get(f"{DELIVERIES}/{delivery['id']}/attempts")).json()["items"]
    assert (attempt["attempt"], attempt["outcome"], attempt["status"], attempt["errorClass"]) == (
        1,
        "failed",
        400,
        "http_status",
    )
    assert attempt["responseBody"] == "not ok" and attempt["error"] == "HTTP 400"
    assert attempt["latencyMs"] >= 0 and attempt["at"].endswith("Z")
    receiver.behave(status=200)
    retried = await api.post(f"{DELIVERIES}/{delivery['id']}/retry")
    assert retried.status_code == 202 and retried.json()["status"] in ("pending", "delivered")
    assert await wait_until(lambda: settled(api, event_id, "delivered"), timeout=10)
    attempts = (await api.get(f"{DELIVERIES}/{delivery['id']}/attempts")).json()["items"]
    assert [(a["outcome"], a["status"], a["responseBody"]) for a in attempts] == [
        ("failed", 400, "not ok"),
        ("delivered", 200, "ok"),
    ]
    again = await api.post(f"{DELIVERIES}/{delivery['id']}/retry")  # delivered: it may be sent again
    assert again.status_code == 202
    conflict = await api.post(f"{DELIVERIES}/{delivery['id']}/retry")
    if conflict.status_code != 202:  # still pending: nothing to do yet (it may have been sent already)
        assert conflict.status_code == 409 and conflict.headers["content-type"] == "application/problem+json"


async def test_events_and_deliveries_filter_and_page(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """Type, time and subscription narrow the search; cursors walk the pages; status narrows deliveries."""
    sub_id = await subscribe(api, "orders", receiver.url)
    before = iso(time.time() - 1)
    ids = [await publish(api, order(n)) for n in range(5)]
    other = await publish(api, order(9, "custom.orders.shipped"))
    assert await wait_until(lambda: settled(api, ids[-1], "delivered"), timeout=10)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"type": "OrderCreated", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await api.get(EVENTS, params=params)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    everything = (await api.get(EVENTS, params={"from": before, "to": iso(time.time() + 60)})).json()["items"]
    assert [e["id"] for e in everything] == [other, *ids[::-1]]
    assert (await api.get(EVENTS, params={"to": before})).json()["items"] == []
    to_sub = (await api.get(EVENTS, params={"subscription": sub_id})).json()["items"]
    assert [e["id"] for e in to_sub] == ids[::-1]  # the custom type went nowhere
    assert await wait_until(
        lambda: _count(api, f"{SUBS}/{sub_id}/deliveries", {"status": "delivered"}, 5), timeout=10
    )
    pending = (await api.get(f"{SUBS}/{sub_id}/deliveries", params={"status": "dead"})).json()
    assert pending == {"items": [], "nextCursor": None}


async def _count(api: httpx.AsyncClient, path: str, params: dict[str, str], n: int) -> bool:
    return len((await api.get(path, params=params)).json()["items"]) == n


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (EVENTS, {"from": "yesterday"}, "from"),
        (EVENTS, {"to": "2026-12-03T10:00:00"}, "to"),
        (EVENTS, {"limit": "0"}, "limit"),
        (EVENTS, {"limit": "1001"}, "limit"),
        (EVENTS, {"cursor": "abc"}, "cursor"),
        (f"{SUBS}/any/deliveries", {"status": "lost"}, "status"),
    ],
)
async def test_unreadable_parameters_answer_400_naming_the_field(
    api: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    """Every bad query parameter is a 400 problem naming it."""
    response = await api.get(path, params=params)
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_missing_things_answer_404_and_a_read_only_token_cannot_retry(
    api: httpx.AsyncClient, server: RunningServer
) -> None:
    """Unknown events, deliveries and subscriptions are 404s; retrying needs the write scope."""
    assert (await api.get(f"{EVENTS}/evt-nope")).status_code == 404
    assert (await api.get(f"{DELIVERIES}/999999/attempts")).status_code == 404
    assert (await api.get(f"{DELIVERIES}/999999")).status_code == 404
    assert (await api.post(f"{DELIVERIES}/999999/retry")).status_code == 404
    assert (await api.get(f"{SUBS}/nope/deliveries")).status_code == 404
    assert (await api.get(f"{DELIVERIES}/abc/attempts")).status_code == 422
    reader = await server.token("eventbridge:subscriptions:read")
    headers = {"Authorization": f"Bearer {reader}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as read_only:
        assert (await read_only.get(EVENTS)).status_code == 200
        assert (await read_only.post(f"{DELIVERIES}/1/retry")).status_code == 403
        assert (await read_only.post(REPLAYS, json={"from": iso(0), "to": iso(1)})).status_code == 403


async def wait_job(api: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    async def finished() -> dict[str, Any] | None:
        job = dict((await api.get(f"{REPLAYS}/{job_id}")).json())
        return job if job["state"] in ("succeeded", "failed") else None

    job = await wait_until(finished, timeout=15)
    assert job, "the replay did not finish"
    return dict(job)


async def test_a_replay_redelivers_the_range_once_and_a_dry_run_only_counts(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """Replayed events reach the consumer again, narrowed by the pattern; a dry run sends nothing."""
    await subscribe(api, "orders", receiver.url)
    start = iso(time.time() - 1)
    ids = [await publish(api, order(n)) for n in range(4)]
    await receiver.wait_for(4, timeout=10)
    end = iso(time.time() + 1)
    dry = await api.post(REPLAYS, json={"from": start, "to": end, "dryRun": True})
    assert dry.status_code == 202 and dry.headers["location"] == f"{REPLAYS}/{dry.json()['id']}"
    counted = await wait_job(api, dry.json()["id"])
    assert (counted["state"], counted["counts"]["enqueued"], counted["progress"]["total"]) == (
        "succeeded",
        4,
        4,
    )
    pattern = {"data": {"n": [{"numeric": [">=", 2]}]}}
    started = await api.post(REPLAYS, json={"from": start, "to": end, "pattern": pattern})
    job = await wait_job(api, started.json()["id"])
    assert (
        job["state"],
        job["counts"]["matched"],
        job["counts"]["enqueued"],
        job["progress"]["percent"],
    ) == (
        "succeeded",
        2,
        2,
        100.0,
    )
    replayed = await receiver.wait_for(6, timeout=10)
    assert sorted(r.json()["id"] for r in replayed[4:]) == sorted(ids[2:])
    listed = (await api.get(REPLAYS)).json()["items"]
    assert [j["id"] for j in listed] == [job["id"], counted["id"]]


async def test_a_replay_request_with_faults_names_each_field(api: httpx.AsyncClient) -> None:
    """Times, order, subscriptions and the pattern are checked, each fault with its field."""
    bad = await api.post(REPLAYS, json={"from": "soon", "to": iso(10), "pattern": {"a": "x"}, "extra": 1})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"from", "pattern.a", "extra"}
    backwards = await api.post(REPLAYS, json={"from": iso(10), "to": iso(5)})
    assert [e["field"] for e in backwards.json()["errors"]] == ["to"]
    unknown = await api.post(REPLAYS, json={"from": iso(0), "to": iso(5), "subscriptionIds": ["nope"]})
    assert [e["field"] for e in unknown.json()["errors"]] == ["subscriptionIds[0]"]
    assert (await api.get(f"{REPLAYS}/rpl_nope")).status_code == 404


async def test_a_replay_left_running_by_a_dead_process_is_resumed_after_a_restart(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """A job whose owner died (its lease expired) is claimed by the next server and finished."""
    async with running_server(folder=tmp_path) as first:
        token = await first.token()
        async with httpx.AsyncClient(
            base_url=first.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            await subscribe(api, "orders", receiver.url)
            ids = [await publish(api, order(n)) for n in range(3)]
            await receiver.wait_for(3, timeout=10)
    store = SqliteStore(str(tmp_path / "ccbridge.db"), SubscriptionRouter())
    await store.open()
    try:  # a process took the job and died before its first step
        await store.create_replay("rpl_orphan", ReplaySpec(0, time.time() + 1))
        assert await store.claim_replay("dead-process", -1) is not None
    finally:
        await store.close()
    async with running_server(folder=tmp_path) as second:
        token = await second.token()
        async with httpx.AsyncClient(
            base_url=second.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            job = await wait_job(api, "rpl_orphan")
            assert (job["state"], job["counts"]["enqueued"]) == ("succeeded", 3)
            replayed = await receiver.wait_for(6, timeout=10)
    assert sorted(r.json()["id"] for r in replayed[3:]) == sorted(ids)


async def test_endpoint_credentials_never_appear_in_history_answers(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """A password in an endpoint URL is masked in the event, delivery and attempt answers."""
    url = receiver.url.replace("http://", "http://user:hunter2-password@")
    sub_id = await subscribe(api, "secretive", url)
    event_id = await publish(api, order(1))
    assert await wait_until(lambda: settled(api, event_id, "delivered"), timeout=10)
    [delivery] = await deliveries_of(api, event_id)
    answers = [
        (await api.get(f"{EVENTS}/{event_id}")).text,
        (await api.get(f"{SUBS}/{sub_id}/deliveries")).text,
        (await api.get(f"{DELIVERIES}/{delivery['id']}")).text,
        (await api.get(f"{DELIVERIES}/{delivery['id']}/attempts")).text,
    ]
    assert all("hunter2" not in text for text in answers)
    assert delivery["endpointUrl"] == receiver.url.replace("http://", "http://user:***@")


async def test_a_repeated_replay_request_starts_one_job(api: httpx.AsyncClient) -> None:
    """The same Idempotency-Key and body answer the first job; another body with it is refused."""
    body = {"from": iso(0), "to": iso(time.time() + 1), "dryRun": True}
    first = await api.post(REPLAYS, json=body, headers={"Idempotency-Key": "replay-once"})
    again = await api.post(REPLAYS, json=body, headers={"Idempotency-Key": "replay-once"})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    other = await api.post(
        REPLAYS, json={**body, "dryRun": False}, headers={"Idempotency-Key": "replay-once"}
    )
    assert other.status_code == 422
    assert [j["id"] for j in (await api.get(REPLAYS)).json()["items"]] == [first.json()["id"]]
