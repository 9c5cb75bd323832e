"""`POST /sources/aws-eventbridge` on the real server: Genesys' EventBridge envelopes stored once by
their id, delivered to a subscriber, authenticated by API key or Basic, bad input named by field."""

from __future__ import annotations

import base64
import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ccbridge.config import DEFAULT_EVENT_TYPES
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, running_server

PATH = "/sources/aws-eventbridge"
KEY = "eb-key-0123456789abcdef"
OLD_KEY = "eb-key-old-9876543210"
TYPE = "v2.routing.queues.{id}.conversations"
ENVELOPE: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": TYPE,
    "source": "aws.partner/genesys.com/cloud/3b2f-org/ccbridge",
    "account": "123456789012",
    "time": "2026-11-24T10:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "topicName": "v2.routing.queues.q-1.conversations",
        "version": "2",
        "eventBody": {"id": "conv-1", "participants": [{"purpose": "customer"}]},
        "metadata": {"CorrelationId": "c-1"},
    },
}


def envelope(n: int) -> dict[str, Any]:
    e = copy.deepcopy(ENVELOPE)
    e["id"] = f"eb-{n}"
    e["detail"]["eventBody"]["id"] = f"conv-{n}"
    return e


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as r:
        yield r


@pytest.fixture
async def srv(receiver: WebhookReceiver) -> AsyncIterator[RunningServer]:
    config = {
        "event_types": [*DEFAULT_EVENT_TYPES, TYPE],
        "connectors": {
            "aws_eventbridge": {
                "api_keys": [OLD_KEY, KEY],
                "basic": [{"username": "eb", "password": "eb-pass-123"}],
            }
        },
    }
    async with running_server(config) as s:
        token = await s.token()
        async with httpx.AsyncClient(
            base_url=s.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            created = await api.post(
                "/api/v2/eventbridge/subscriptions",
                json={
                    "name": "queues",
                    "eventType": TYPE,
                    "endpoints": [{"url": receiver.url, "type": "webhook"}],
                },
            )
            assert created.status_code == 201, created.text
        yield s


async def count(srv: RunningServer) -> int:
    assert srv.runtime is not None
    return await srv.runtime.store.count_events()


async def test_an_envelope_is_stored_and_delivered_with_its_event_body(
    srv: RunningServer, receiver: WebhookReceiver
) -> None:
    """type = detail-type, data = detail.eventBody, source and time from the envelope, topic kept."""
    async with httpx.AsyncClient(base_url=srv.base_url) as client:
        response = await client.post(PATH, json=ENVELOPE, headers={"x-api-key": KEY})
    assert response.status_code == 200, response.text
    assert response.json()["duplicate"] is False and response.json()["eventBridgeId"] == ENVELOPE["id"]
    [delivered] = await receiver.wait_for(1, timeout=10)
    body = delivered.json()
    assert (body["event"], body["data"], body["source"]) == (
        TYPE,
        ENVELOPE["detail"]["eventBody"],
        ENVELOPE["source"],
    )
    assert body["time"] == ENVELOPE["time"] and body["id"] == response.json()["id"]
    assert body["metadata"]["topicName"] == "v2.routing.queues.q-1.conversations"
    assert body["metadata"]["awsAccount"] == "123456789012"


async def test_a_redelivery_is_stored_once(srv: RunningServer) -> None:
    """The same envelope id again answers the first event's id with duplicate: true."""
    async with httpx.AsyncClient(base_url=srv.base_url, headers={"x-api-key": OLD_KEY}) as client:
        first = await client.post(PATH, json=ENVELOPE)
        again = await client.post(PATH, json=ENVELOPE)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    assert await count(srv) == 1


async def test_a_batch_is_stored_in_order_and_basic_auth_works(srv: RunningServer) -> None:
    """A JSON array answers one result per envelope, in order; a repeated one is a duplicate."""
    basic = "Basic " + base64.b64encode(b"eb:eb-pass-123").decode()
    batch = [envelope(1), envelope(2), envelope(1)]
    async with httpx.AsyncClient(base_url=srv.base_url) as client:
        response = await client.post(PATH, json=batch, headers={"Authorization": basic})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["eventBridgeId"] for r in results] == ["eb-1", "eb-2", "eb-1"]
    assert [r["duplicate"] for r in results] == [False, False, True] and results[0]["id"] == results[2]["id"]
    assert await count(srv) == 2


async def test_no_credential_is_401_a_wrong_one_403_and_nothing_is_stored(srv: RunningServer) -> None:
    """Missing credentials answer 401, a wrong key or password 403; neither echoes a secret."""
    wrong_basic = "Basic " + base64.b64encode(b"eb:nope").decode()
    async with httpx.AsyncClient(base_url=srv.base_url) as client:
        missing = await client.post(PATH, json=ENVELOPE)
        wrong_key = await client.post(PATH, json=ENVELOPE, headers={"x-api-key": KEY + "x"})
        wrong_pass = await client.post(PATH, json=ENVELOPE, headers={"Authorization": wrong_basic})
        garbled = await client.post(PATH, json=ENVELOPE, headers={"Authorization": "Basic %%%"})
    assert missing.status_code == 401 and missing.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert (wrong_key.status_code, wrong_pass.status_code, garbled.status_code) == (403, 403, 403)
    assert all(KEY not in r.text for r in (missing, wrong_key, wrong_pass))
    assert await count(srv) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in ENVELOPE.items() if k != "id"}, "id"),
        ({**ENVELOPE, "detail-type": ""}, "detail-type"),
        ({**ENVELOPE, "time": "yesterday"}, "time"),
        ({**ENVELOPE, "detail": {"topicName": "t"}}, "detail.eventBody"),
        ({**ENVELOPE, "detail": []}, "detail"),
        ({**ENVELOPE, "resources": [1]}, "resources"),
        ({**ENVELOPE, "extra": 1}, "extra"),
        ([ENVELOPE, {**ENVELOPE, "source": 5}], "[1].source"),
        ([], "body"),
        ("not an object", "body"),
    ],
)
async def test_bad_envelopes_name_the_field_and_store_nothing(
    srv: RunningServer, body: Any, field: str
) -> None:
    """Each malformed envelope answers 422 problem+json naming the field; nothing of the request is stored."""
    async with httpx.AsyncClient(base_url=srv.base_url, headers={"x-api-key": KEY}) as client:
        response = await client.post(PATH, json=body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await count(srv) == 0


async def test_not_json_is_400_and_not_sent_as_json_415(srv: RunningServer) -> None:
    """An unreadable body is a 400 and another media type a 415, never a 5xx."""
    async with httpx.AsyncClient(base_url=srv.base_url, headers={"x-api-key": KEY}) as client:
        garbage = await client.post(PATH, content=b"{nope", headers={"Content-Type": "application/json"})
        text = await client.post(PATH, content=b"{}", headers={"Content-Type": "text/plain"})
    assert (garbage.status_code, text.status_code) == (400, 415)
