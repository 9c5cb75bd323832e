"""The `cxone-signal` endpoint: the adapter against a fake tenant (each status to its outcome), and
end to end through the real server and dispatcher, from a published event to a Signal call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cxone_support import cxone_config, until

from ccbridge.connectors.cxone.auth import CxoneAuth
from ccbridge.core.event import Delivered, DeliveryJob, EndpointSpec, Event, Failed, Retry
from ccbridge.core.ports import Attempt
from ccbridge.endpoints.cxone_signal import CxoneSignalEndpoint
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.cxone import FakeCxone
from ccbridge.testing.server import RunningServer, running_server, wait_until

URL = "cxone://cx-test/signal?contactId=data.contactId&p1=data.skill&p2=data.reason"
DATA = {"contactId": "5001", "skill": "billing", "reason": "vip", "score": 9.5, "tags": ["a"]}


def attempt(url: str = URL, data: Any = None) -> Attempt:
    event = Event(
        id="evt-1",
        type="custom.cx.escalate",
        source="crm",
        time="2026-12-03T10:00:00Z",
        data=DATA if data is None else data,
        dialect="cxone",
        correlation_id="corr-1",
        received_at="2026-12-03T10:00:01Z",
    )
    job = DeliveryJob(1, event, "sub-1", EndpointSpec(url, "cxone-signal"), 1)
    return Attempt(job=job, body=b"{}", timeout=5.0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeCxone]:
    async with FakeCxone() as cx:
        cx.contacts.add("5001")
        yield cx


@pytest.fixture
async def endpoint(fake: FakeCxone) -> AsyncIterator[CxoneSignalEndpoint]:
    auth = CxoneAuth(cxone_config(fake, agents=[]), ManualClock())
    yield CxoneSignalEndpoint({"cx-test": auth})
    await auth.aclose()


async def test_a_signal_carries_the_contact_and_parameters(
    endpoint: CxoneSignalEndpoint, fake: FakeCxone
) -> None:
    """The contact id and p1, p2 come from the paths the URL names; 202 is Delivered."""
    assert await endpoint.send(attempt()) == Delivered(202)
    assert fake.signals == [("5001", {"p1": "billing", "p2": "vip"})]


async def test_values_that_are_not_strings_are_sent_as_json(
    endpoint: CxoneSignalEndpoint, fake: FakeCxone
) -> None:
    """Numbers and lists are JSON-encoded; a list index and the event's own fields are paths too."""
    url = "cxone://cx-test/signal?contactId=data.contactId&p1=data.score&p2=data.tags&p3=data.tags.0&p4=id"
    assert isinstance(await endpoint.send(attempt(url)), Delivered)
    assert fake.signals[-1][1] == {"p1": "9.5", "p2": '["a"]', "p3": "a", "p4": "evt-1"}


async def test_an_ended_contact_is_permanent(endpoint: CxoneSignalEndpoint, fake: FakeCxone) -> None:
    """404 (the contact has ended) is Failed, so the delivery is dead-lettered, not retried."""
    outcome = await endpoint.send(attempt(data={**DATA, "contactId": "4040"}))
    assert isinstance(outcome, Failed) and outcome.status == 404 and "ended" in outcome.reason


async def test_a_missing_field_is_permanent_and_named(endpoint: CxoneSignalEndpoint, fake: FakeCxone) -> None:
    """An event without the contact id, or without a parameter's field, fails naming the path, and
    nothing is sent."""
    no_contact = await endpoint.send(attempt(data={"skill": "x", "reason": "y"}))
    no_reason = await endpoint.send(attempt(data={"contactId": "5001", "skill": "x"}))
    assert isinstance(no_contact, Failed) and "data.contactId" in no_contact.reason
    assert isinstance(no_reason, Failed) and "data.reason" in no_reason.reason and "p2" in no_reason.reason
    assert fake.signals == [] and not any(p.endswith("/signal") for _, p in fake.requests)


async def test_a_401_renews_the_token_once(endpoint: CxoneSignalEndpoint, fake: FakeCxone) -> None:
    """A revoked token: one 401, a new grant, the call repeated and delivered."""
    assert isinstance(await endpoint.send(attempt()), Delivered)
    fake.revoke_tokens()
    assert isinstance(await endpoint.send(attempt()), Delivered)
    assert fake.token_grants == 2 and fake.unauthorized == 1 and len(fake.signals) == 2


async def test_a_second_401_is_retried_not_repeated_again(
    endpoint: CxoneSignalEndpoint, fake: FakeCxone
) -> None:
    """A 401 that survives a renewal is Retry after exactly two calls (the token is renewed once)."""
    await endpoint.send(attempt())
    fake.fail("signal", 401, times=2)
    outcome = await endpoint.send(attempt())
    assert isinstance(outcome, Retry) and outcome.status == 401
    assert sum(p.endswith("/signal") for _, p in fake.requests) == 3


async def test_429_5xx_and_drops_are_retried(endpoint: CxoneSignalEndpoint, fake: FakeCxone) -> None:
    """429 keeps its Retry-After as the floor; 503 and a dropped connection are Retry."""
    fake.fail("signal", 429, retry_after="12")
    fake.fail("signal", 503)
    fake.drop("signal")
    limited, unavailable, dropped = [await endpoint.send(attempt()) for _ in range(3)]
    assert isinstance(limited, Retry) and limited.after == 12 and limited.status == 429
    assert isinstance(unavailable, Retry) and unavailable.status == 503
    assert isinstance(dropped, Retry)
    assert await endpoint.send(attempt()) == Delivered(202)


async def test_an_unknown_connector_or_a_bad_url_fails(endpoint: CxoneSignalEndpoint) -> None:
    """A URL naming no configured connector (a config changed after the subscription) or malformed fails."""
    unknown = await endpoint.send(attempt("cxone://other/signal?contactId=data.contactId"))
    bad = await endpoint.send(attempt("cxone://cx-test/wake?contactId=data.contactId"))
    assert isinstance(unknown, Failed) and "'other'" in unknown.reason
    assert isinstance(bad, Failed) and "signal" in bad.reason


async def test_refused_credentials_are_retried_without_the_secret(fake: FakeCxone) -> None:
    """The token endpoint refusing the key is Retry (the operator fixes the config), naming no secret."""
    auth = CxoneAuth(cxone_config(fake, access_key_secret="bad-secret-123"), ManualClock())
    outcome = await CxoneSignalEndpoint({"cx-test": auth}).send(attempt())
    await auth.aclose()
    assert isinstance(outcome, Retry) and "bad-secret-123" not in outcome.reason


# --- end to end: the real server and dispatcher --------------------------------------------------


def server_config(fake: FakeCxone) -> dict[str, Any]:
    return {
        "connectors": {
            "cxone": [
                {
                    "name": "cx-test",
                    "access_key_id": fake.credentials[0],
                    "access_key_secret": fake.credentials[1],
                    "client_id": fake.client[0],
                    "client_secret": fake.client[1],
                    "auth_url": fake.url,
                }
            ]
        }
    }


@pytest.fixture
async def server(fake: FakeCxone) -> AsyncIterator[RunningServer]:
    async with running_server(server_config(fake)) as srv:
        yield srv


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = await server.token()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=10) as client:
        yield client


def subscription(url: str = URL, **extra: Any) -> dict[str, Any]:
    return {
        "name": "escalations",
        "eventType": "custom.cx.escalate",
        "endpoints": [{"url": url, "type": "cxone-signal"}],
        "retryConfiguration": {"maxRetries": 2, "initialDelayMs": 10, "maxDelayMs": 20},
        **extra,
    }


async def publish(api: httpx.AsyncClient, data: dict[str, Any]) -> None:
    body = {"eventType": "custom.cx.escalate", "attributes": data, "timestamp": "2026-12-03T10:00:00Z"}
    answer = await api.post("/api/v2/eventbridge/events", json=body)
    assert answer.status_code in (200, 201, 202), answer.text


async def delivery_status(api: httpx.AsyncClient, sub_id: str) -> dict[str, Any]:
    answer = await api.get(f"/api/v2/eventbridge/subscriptions/{sub_id}/delivery-status")
    result: dict[str, Any] = answer.json()
    return result


async def test_a_routed_event_signals_the_contact_end_to_end(api: httpx.AsyncClient, fake: FakeCxone) -> None:
    """A published event matching a cxone-signal subscription is delivered by the dispatcher as a
    Signal call (after a 503, retried), and delivery-status counts it delivered."""
    created = await api.post("/api/v2/eventbridge/subscriptions", json=subscription())
    assert created.status_code == 201, created.text
    fake.fail("signal", 503)
    await publish(api, DATA)
    await until(lambda: len(fake.signals) == 1)
    assert fake.signals == [("5001", {"p1": "billing", "p2": "vip"})]

    async def delivered() -> bool:
        return bool((await delivery_status(api, created.json()["id"]))["counts"]["delivered"] == 1)

    await wait_until(delivered)


async def test_an_ended_contact_becomes_a_dead_letter_with_the_reason(
    api: httpx.AsyncClient, fake: FakeCxone
) -> None:
    """A 404 from the Signal API dead-letters the delivery at once, with the reason in delivery-status."""
    created = await api.post("/api/v2/eventbridge/subscriptions", json=subscription())
    await publish(api, {**DATA, "contactId": "gone"})

    async def dead() -> bool:
        status = await delivery_status(api, created.json()["id"])
        return bool(status["counts"]["deadLettered"] == 1 and "ended" in (status["lastDeliveryError"] or ""))

    await wait_until(dead)
    assert sum(p.endswith("/signal") for _, p in fake.requests) == 1


async def test_a_subscription_naming_an_unconfigured_connector_is_refused(api: httpx.AsyncClient) -> None:
    """400 naming endpoints[0].url and the configured connectors; nothing is created."""
    answer = await api.post(
        "/api/v2/eventbridge/subscriptions", json=subscription("cxone://cx-other/signal?contactId=data.id")
    )
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert errors[0]["field"] == "endpoints[0].url"
    assert "cx-other" in errors[0]["message"] and "cx-test" in errors[0]["message"]
    assert (await api.get("/api/v2/eventbridge/subscriptions")).json()["total"] == 0


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("cxone://cx-test/signal?p1=data.skill", "contactId"),
        ("cxone://cx-test/signal?contactId=data.c&p10=data.x", "p10"),
        ("cxone://cx-test/signal?contactId=body.c", "must start at a part of the event"),
        ("cxone://cx-test/wake?contactId=data.c", "cxone://<connector>/signal"),
        ("https://cx-test/signal?contactId=data.c", "cxone://"),
    ],
)
async def test_a_malformed_signal_url_is_refused_with_the_reason(
    api: httpx.AsyncClient, url: str, words: str
) -> None:
    """Each malformed signal URL is a 400 on endpoints[0].url saying what is wrong."""
    answer = await api.post("/api/v2/eventbridge/subscriptions", json=subscription(url))
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["field"] == "endpoints[0].url" and words in error["message"]


async def test_the_genesys_dialect_takes_cxone_signal_too(api: httpx.AsyncClient, fake: FakeCxone) -> None:
    """deliveryType CXONE_SIGNAL in a Genesys-dialect subscription delivers the same Signal call; an
    unknown connector there is refused on deliveryConfig.url."""
    body = {
        "name": "gen-escalations",
        "eventTypes": ["custom.cx.escalate"],
        "deliveryConfig": {"deliveryType": "CXONE_SIGNAL", "url": URL},
    }
    created = await api.post("/api/v2/eventbridge/subscriptions", json=body)
    assert created.status_code == 201, created.text
    await publish(api, DATA)
    await until(lambda: len(fake.signals) == 1)
    wrong = {
        **body,
        "name": "x",
        "deliveryConfig": {"deliveryType": "cxone-signal", "url": URL.replace("cx-test", "nope")},
    }
    refused = await api.post("/api/v2/eventbridge/subscriptions", json=wrong)
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "deliveryConfig.url"


async def test_the_openapi_document_names_the_type(api: httpx.AsyncClient) -> None:
    """/openapi.json lists cxone-signal among the endpoint types and CXONE_SIGNAL among delivery types."""
    text = json.dumps((await api.get("/openapi.json")).json())
    assert '"cxone-signal"' in text and '"CXONE_SIGNAL"' in text
