"""Subscriptions CRUD in both dialects, validation with field paths, idempotency, quotas."""

from __future__ import annotations

import asyncio

import httpx
from server_payloads import cxone_subscription, genesys_subscription

from ccbridge.testing.server import running_server

BASE = "/api/v2/eventbridge/subscriptions"


async def test_cxone_create_answers_in_its_dialect_with_secret(api: httpx.AsyncClient) -> None:
    """A CXone body comes back with id, state, createdDate and a whsec_ secret only on create."""
    created = await api.post(BASE, json=cxone_subscription())
    assert created.status_code == 201
    body = created.json()
    assert body["eventType"] == "contact.created"
    assert body["state"] == "active"
    assert body["secret"].startswith("whsec_")
    assert body["retryConfiguration"]["maxRetries"] == 3
    fetched = (await api.get(f"{BASE}/{body['id']}")).json()
    assert "secret" not in fetched
    assert fetched["filters"] == cxone_subscription()["filters"]
    assert created.headers["location"].endswith(body["id"])


async def test_genesys_create_and_list(api: httpx.AsyncClient) -> None:
    """A Genesys body keeps eventTypes/deliveryConfig/filter and both dialects list together."""
    g = await api.post(BASE, json=genesys_subscription())
    c = await api.post(BASE, json=cxone_subscription())
    assert g.status_code == 201 and c.status_code == 201
    assert g.json()["deliveryConfig"]["deliveryType"] == "WEBHOOK"
    assert g.json()["filter"] == "data.channel == 'voice'"
    listing = (await api.get(BASE)).json()
    assert listing["total"] == 2
    assert {e["name"] for e in listing["entities"]} == {
        "interaction-completion-router",
        "contact-created-crm",
    }


async def test_validation_names_every_field_at_fault(api: httpx.AsyncClient) -> None:
    """Unknown event type, bad URL, bad type, bad backoff and delays are all reported at once."""
    body = cxone_subscription(
        eventType="contact.exploded",
        endpoints=[
            {"url": "ftp://x", "type": "webhook"},
            {"url": "https://ok.example.com", "type": "pigeon"},
        ],
        retryConfiguration={
            "maxRetries": -1,
            "backoffStrategy": "fibonacci",
            "initialDelayMs": 5000,
            "maxDelayMs": 100,
        },
    )
    response = await api.post(BASE, json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields >= {
        "eventType",
        "endpoints[0].url",
        "endpoints[1].type",
        "retryConfiguration.maxRetries",
        "retryConfiguration.backoffStrategy",
        "retryConfiguration.initialDelayMs",
    }
    assert (await api.get(BASE)).json()["total"] == 0


async def test_endpoint_count_limits(api: httpx.AsyncClient) -> None:
    """Zero endpoints and eleven endpoints are both refused naming `endpoints`."""
    for endpoints in ([], [{"url": f"https://e{i}.example.com", "type": "webhook"} for i in range(11)]):
        response = await api.post(BASE, json=cxone_subscription(endpoints=endpoints))
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "endpoints"


async def test_invalid_filters_are_rejected_at_creation(api: httpx.AsyncClient) -> None:
    """A bad triple operator, a bad expression and a bad pattern are 400s naming the filter."""
    bad = [
        cxone_subscription(filters=[{"field": "a", "operator": "resembles", "value": "x"}]),
        genesys_subscription(filter="data.channel == "),
        cxone_subscription(filters=None, pattern={"data": {"x": [{"prefx": "a"}]}}),
    ]
    for body in bad:
        response = await api.post(BASE, json=body)
        assert response.status_code == 400, response.text
        field = response.json()["errors"][0]["field"]
        assert field.startswith(("filters", "filter", "pattern")), field


async def test_duplicate_name_is_409_with_existing_id(api: httpx.AsyncClient) -> None:
    """Creating the same name twice is a conflict that names the existing subscription."""
    first = (await api.post(BASE, json=cxone_subscription())).json()
    again = await api.post(BASE, json=cxone_subscription(description="other"))
    assert again.status_code == 409
    assert again.json()["existingId"] == first["id"]


async def test_idempotency_key_replays_and_detects_a_changed_body(api: httpx.AsyncClient) -> None:
    """Same key and body: the stored answer, nothing new; same key, other body: 400."""
    headers = {"Idempotency-Key": "create-1"}
    first = await api.post(BASE, json=cxone_subscription(), headers=headers)
    second = await api.post(BASE, json=cxone_subscription(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    other = await api.post(BASE, json=cxone_subscription(name="other"), headers=headers)
    assert other.status_code == 400
    assert (await api.get(BASE)).json()["total"] == 1


async def test_concurrent_creates_with_one_key_create_one(api: httpx.AsyncClient) -> None:
    """Ten concurrent retries with one idempotency key create exactly one subscription."""
    headers = {"Idempotency-Key": "race"}
    answers = await asyncio.gather(
        *(api.post(BASE, json=cxone_subscription(), headers=headers) for _ in range(10))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert (await api.get(BASE)).json()["total"] == 1


async def test_put_replaces_and_keeps_secret_and_created_date(api: httpx.AsyncClient) -> None:
    """PUT replaces the definition; the secret and createdDate stay, updatedDate moves."""
    created = (await api.post(BASE, json=cxone_subscription())).json()
    replaced = await api.put(f"{BASE}/{created['id']}", json=cxone_subscription(description="v2"))
    assert replaced.status_code == 200
    assert replaced.json()["description"] == "v2"
    assert replaced.json()["createdDate"] == created["createdDate"]
    assert replaced.json()["secretHint"] == created["secret"][:10] + "..."


async def test_delete_then_404(api: httpx.AsyncClient) -> None:
    """DELETE answers 204; the subscription is gone afterwards, and a second DELETE is 404."""
    created = (await api.post(BASE, json=cxone_subscription())).json()
    assert (await api.delete(f"{BASE}/{created['id']}")).status_code == 204
    assert (await api.get(f"{BASE}/{created['id']}")).status_code == 404
    assert (await api.delete(f"{BASE}/{created['id']}")).status_code == 404


async def test_supplied_secret_must_be_whsec() -> None:
    """A supplied secret of the wrong form is a 400 on `secret`; a valid one is kept."""
    async with running_server() as srv:
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            bad = await api.post(BASE, json=cxone_subscription(secret="hunter2"))
            good_secret = "whsec_" + "A" * 32
            good = await api.post(BASE, json=cxone_subscription(secret=good_secret))
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "secret"
    assert "hunter2" not in bad.text
    assert good.json()["secret"] == good_secret


async def test_subscription_quota() -> None:
    """Past limits.max_subscriptions a create is refused and nothing is stored."""
    async with running_server({"limits": {"max_subscriptions": 2}}) as srv:
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            for i in range(2):
                assert (await api.post(BASE, json=cxone_subscription(name=f"s{i}"))).status_code == 201
            third = await api.post(BASE, json=cxone_subscription(name="s3"))
            total = (await api.get(BASE)).json()["total"]
    assert third.status_code == 400
    assert total == 2


async def test_a_seed_client_reads_400_with_message_and_code(api: httpx.AsyncClient) -> None:
    """Seed 001's client prints `message` of a 400 for an unsupported event type; `code` is
    `bad.request`, and the problem+json fields are all still there."""
    response = await api.post(BASE, json=cxone_subscription(eventType="contact.exploded"))
    body = response.json()
    assert response.status_code == 400 and body["status"] == 400
    assert body["code"] == "bad.request"
    assert body["message"].startswith("eventType: ")
    assert body["errors"][0]["field"] == "eventType" and body["title"] and body["detail"]
    missing = await api.get(f"{BASE}/no-such-id")
    assert missing.status_code == 404 and missing.json()["code"] == "not.found"
    assert missing.json()["message"]


async def test_framework_validation_answers_400_on_the_documents_routes(api: httpx.AsyncClient) -> None:
    """A path parameter of the wrong kind (a dead-letter id that is not a number) is a 400 naming it."""
    response = await api.get("/api/v2/eventbridge/deadletters/not-a-number")
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "bad.request"
    assert response.json()["errors"][0]["field"] == "letter_id"
