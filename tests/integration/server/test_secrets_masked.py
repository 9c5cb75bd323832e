"""Credentials a subscription carries (header values, URL passwords) are answered masked to every
caller, in subscriptions, dead letters and forwarded dead letters, yet the real ones are delivered,
also after a read-back resource is sent back with its masked values."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from server_payloads import CXONE_EVENT

from ccbridge.api.guard import READ, WRITE
from ccbridge.core.redact import MASK
from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.server import RunningServer, wait_until

SUBS = "/api/v2/eventbridge/subscriptions"
EVENTS = "/api/v2/eventbridge/events"
LETTERS = "/api/v2/eventbridge/deadletters"
BEARER = f"Bearer tok-{uuid.uuid4().hex}"
API_KEY = f"key-{uuid.uuid4().hex}"
PASSWORD = f"pw-{uuid.uuid4().hex}"
DLQ_PASSWORD = f"dlqpw-{uuid.uuid4().hex}"
SECRETS = (BEARER.split()[1], API_KEY, PASSWORD, DLQ_PASSWORD)


def with_credentials(url: str, user: str, password: str) -> str:
    return url.replace("http://", f"http://{user}:{password}@", 1)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def shows_no_secret(document: Any) -> bool:
    text = repr(document)
    return not any(secret in text for secret in SECRETS)


def genesys(url: str) -> dict[str, Any]:
    return {
        "name": "orders-genesys",
        "eventTypes": ["OrderCreated"],
        "deliveryConfig": {
            "deliveryType": "WEBHOOK",
            "url": url,
            "headers": {"Authorization": BEARER, "X-Api-Key": API_KEY, "X-Tenant": "acme"},
        },
    }


def cxone(url: str, dlq: str | None = None, retry: int = 3) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "orders-cxone",
        "eventType": "OrderCreated",
        "endpoints": [{"url": url, "type": "webhook"}],
        "retryConfiguration": {"maxRetries": retry, "backoffStrategy": "linear", "initialDelayMs": 20},
    }
    if dlq is not None:
        body["deadLetterQueue"] = {"enabled": True, "endpointUrl": dlq}
    return body


@pytest.fixture
async def reader(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = await server.token(READ)
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.fixture
async def writer(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = await server.token(f"{READ} {WRITE} eventbridge:events:write")
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


async def test_read_only_token_sees_credentials_masked_in_both_dialects(
    writer: httpx.AsyncClient, reader: httpx.AsyncClient
) -> None:
    """List and get show `***` for the header values and the URL password; the create answer too,
    which still carries the subscription's signing secret once."""
    first = await writer.post(SUBS, json=genesys(f"http://svc:{PASSWORD}@127.0.0.1:9/g"))
    second = await writer.post(
        SUBS, json=cxone(f"http://crm:{PASSWORD}@127.0.0.1:9/c", f"http://ops:{DLQ_PASSWORD}@127.0.0.1:9/d")
    )
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json()["secret"].startswith("whsec_") and shows_no_secret([first.json(), second.json()])
    listed = await reader.get(SUBS)
    got = [(await reader.get(f"{SUBS}/{r.json()['id']}")).json() for r in (first, second)]
    assert listed.status_code == 200 and shows_no_secret(listed.json()) and shows_no_secret(got)
    assert got[0]["deliveryConfig"]["url"] == f"http://svc:{MASK}@127.0.0.1:9/g"
    assert got[0]["deliveryConfig"]["headers"] == {
        "Authorization": MASK,
        "X-Api-Key": MASK,
        "X-Tenant": "acme",
    }
    assert got[1]["endpoints"][0]["url"] == f"http://crm:{MASK}@127.0.0.1:9/c"
    assert got[1]["deadLetterQueue"]["endpointUrl"] == f"http://ops:{MASK}@127.0.0.1:9/d"


async def test_sending_the_masked_resource_back_keeps_the_real_credentials(
    writer: httpx.AsyncClient, reader: httpx.AsyncClient
) -> None:
    """GET (read-only) -> PUT (write) with a changed description: both receivers still get the real
    Authorization: the Genesys static headers, and the Basic credentials of the CXone URL."""
    async with WebhookReceiver() as headers_hook, WebhookReceiver() as basic_hook:
        ids = []
        for body in (genesys(headers_hook.url), cxone(with_credentials(basic_hook.url, "crm", PASSWORD))):
            created = await writer.post(SUBS, json=body)
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        for sub_id in ids:
            fetched = (await reader.get(f"{SUBS}/{sub_id}")).json()
            replaced = await writer.put(f"{SUBS}/{sub_id}", json={**fetched, "description": "round trip"})
            assert replaced.status_code == 200, replaced.text
            assert replaced.json()["description"] == "round trip" and shows_no_secret(replaced.json())
        assert (await writer.post(EVENTS, json=CXONE_EVENT)).status_code == 201
        [to_headers] = await headers_hook.wait_for(1)
        [to_basic] = await basic_hook.wait_for(1)
    assert to_headers.headers["Authorization"] == BEARER and to_headers.headers["X-Api-Key"] == API_KEY
    assert to_basic.headers["Authorization"] == basic("crm", PASSWORD)


async def test_a_masked_value_with_nothing_stored_is_refused(writer: httpx.AsyncClient) -> None:
    """A create holding `***` would store it as the credential: 400 naming the field instead."""
    body = genesys(f"http://svc:{MASK}@127.0.0.1:9/g")
    body["deliveryConfig"]["headers"] = {"Authorization": MASK}
    answer = await writer.post(SUBS, json=body)
    assert answer.status_code == 400
    fields = sorted(e["field"] for e in answer.json()["errors"])
    assert fields == ["deliveryConfig.headers.Authorization", "deliveryConfig.url"]


async def test_dead_letters_show_and_forward_the_url_masked(
    writer: httpx.AsyncClient, reader: httpx.AsyncClient
) -> None:
    """A 404 dead-letters the delivery: list and show mask the endpoint's password, and the letter
    forwarded to the dead-letter endpoint (reached with its own real credentials) does too."""
    async with WebhookReceiver(Behaviour(status=404)) as refusing, WebhookReceiver() as dlq:
        url = with_credentials(refusing.url, "crm", PASSWORD)
        sub = (
            await writer.post(SUBS, json=cxone(url, with_credentials(dlq.url, "ops", DLQ_PASSWORD)))
        ).json()
        assert (await writer.post(EVENTS, json=CXONE_EVENT)).status_code == 201
        [forwarded] = await dlq.wait_for(1)
    masked = url.replace(PASSWORD, MASK)
    assert forwarded.headers["Authorization"] == basic("ops", DLQ_PASSWORD)
    letter = forwarded.json()
    assert letter["type"] == "ccbridge.deadletter" and letter["subscriptionId"] == sub["id"]
    assert letter["endpointUrl"] == masked and shows_no_secret(letter)

    async def listed() -> list[dict[str, Any]]:
        return list((await reader.get(LETTERS, params={"subscriptionId": sub["id"]})).json()["entities"])

    [entity] = await wait_until(listed)
    assert entity["endpointUrl"] == masked and entity["eventId"] == letter["eventId"]
    shown = (await reader.get(f"{LETTERS}/{entity['id']}")).json()
    assert shown["endpointUrl"] == masked and shown["event"]["id"] == letter["eventId"]
    assert shows_no_secret(entity) and shows_no_secret(shown)
