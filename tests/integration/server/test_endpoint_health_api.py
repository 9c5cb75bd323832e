"""Endpoint health through the real server over loopback HTTP, its real dispatcher and real receivers:
`rateLimitPerSecond` in both dialects, an endpoint's breaker state, disable and enable (API and CLI),
secret rotation with both signatures during the grace period, and test events."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx
import pytest

from ccbridge.core.signatures import GENESYS_HEADER, sign_genesys, verify_standard
from ccbridge.errors import AuthError
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, wait_until

SUBS = "/api/v2/eventbridge/subscriptions"


def cxone(url: str, name: str = "hook", **endpoint: Any) -> dict[str, Any]:
    return {"name": name, "eventType": "contact.created", "endpoints": [{"url": url, **endpoint}]}


async def publish(api: httpx.AsyncClient, n: int = 1) -> str:
    answer = await api.post(
        "/api/v2/eventbridge/events",
        json={"eventType": "contact.created", "attributes": {"n": n}, "timestamp": "2026-12-01T10:00:00Z"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def ccbridge(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ccbridge",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_rate_limit_round_trips_in_both_dialects_and_bad_values_name_the_field(
    api: httpx.AsyncClient,
) -> None:
    """`rateLimitPerSecond` is kept on the endpoint in CXone and Genesys bodies and shown by the
    endpoints route; zero or a fraction answers 422 naming the field."""
    created = await api.post(SUBS, json=cxone("https://example.com/a", rateLimitPerSecond=20))
    assert created.status_code == 201, created.text
    assert created.json()["endpoints"][0]["rateLimitPerSecond"] == 20
    genesys = {
        "name": "g",
        "eventTypes": ["contact.created"],
        "deliveryConfig": {
            "deliveryType": "WEBHOOK",
            "url": "https://example.com/g",
            "rateLimitPerSecond": 3,
        },
    }
    made = await api.post(SUBS, json=genesys)
    assert made.status_code == 201, made.text
    assert made.json()["deliveryConfig"]["rateLimitPerSecond"] == 3
    listed = (await api.get(f"{SUBS}/{made.json()['id']}/endpoints")).json()
    assert listed["entities"][0]["rateLimitPerSecond"] == 3 and listed["entities"][0]["state"] == "closed"
    bad = await api.post(SUBS, json=cxone("https://example.com/b", name="b", rateLimitPerSecond=0))
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["errors"]] == ["endpoints[0].rateLimitPerSecond"]
    worse = await api.post(
        SUBS,
        json={
            **genesys,
            "name": "g2",
            "deliveryConfig": {**genesys["deliveryConfig"], "rateLimitPerSecond": 1.5},
        },
    )
    assert [e["field"] for e in worse.json()["errors"]] == ["deliveryConfig.rateLimitPerSecond"]


async def breaker_gauge(server: RunningServer, sub_id: str, url: str) -> float | None:
    async with httpx.AsyncClient() as client:
        text = (await client.get(server.base_url + "/metrics")).text
    line = f'ccbridge_endpoint_breaker_state{{endpoint="{url}",subscription_id="{sub_id}"}}'
    values = [float(row.split()[-1]) for row in text.splitlines() if row.startswith(line)]
    return values[0] if values else None


async def test_a_disabled_endpoint_dead_letters_and_enabling_it_lets_a_replay_through(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    """Disabled through the CLI, an endpoint gets nothing: its delivery is a dead letter saying why.
    Enabled through the API and replayed, the consumer gets it."""
    async with WebhookReceiver() as receiver:
        sub = (await api.post(SUBS, json=cxone(receiver.url))).json()
        config = str(server.config_path)
        code, out, err = await ccbridge("endpoints", "disable", sub["id"], "0", "--json", "--config", config)
        assert code == 0, err
        assert json.loads(out)["state"] == "disabled"

        # the dispatcher reads the breakers again every second: wait until it has seen this one
        async def seen_disabled() -> bool:
            return await breaker_gauge(server, sub["id"], receiver.url) == 2.0

        assert await wait_until(seen_disabled)
        await publish(api)

        async def dead() -> list[dict[str, Any]]:
            body = (
                await api.get("/api/v2/eventbridge/deadletters", params={"subscriptionId": sub["id"]})
            ).json()
            return list(body["entities"])

        [letter] = await wait_until(dead)
        assert letter["reason"].startswith("endpoint disabled") and receiver.received == []
        enabled = await api.post(f"{SUBS}/{sub['id']}/endpoints/0/enable")
        assert enabled.status_code == 200 and enabled.json()["state"] == "closed"
        replayed = await api.post(f"/api/v2/eventbridge/deadletters/{letter['id']}/replay")
        assert replayed.status_code == 200, replayed.text
        [got] = await receiver.wait_for(1)
        code, out, err = await ccbridge("endpoints", "list", sub["id"], "--json", "--config", config)
    assert got.json()["id"] == letter["eventId"]
    assert code == 0, err
    assert json.loads(out)["entities"][0]["state"] == "closed"


async def test_an_unknown_endpoint_index_is_a_400_naming_it(api: httpx.AsyncClient) -> None:
    """An index past the subscription's endpoints is a 400 on `index` (input errors under
    /api/v2/eventbridge are 400s, as the documents answer them); an unknown subscription a 404."""
    sub = (await api.post(SUBS, json=cxone("https://example.com/a"))).json()
    answer = await api.post(f"{SUBS}/{sub['id']}/endpoints/3/disable")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "index"
    missing = await api.get(f"{SUBS}/nope/endpoints")
    assert missing.status_code == 404


@pytest.mark.parametrize("index", ["%C2%B2", "1" * 5000])
async def test_an_index_that_is_no_small_ascii_number_is_a_400_naming_it(
    api: httpx.AsyncClient, index: str
) -> None:
    """A digit that is not ASCII (`²`) or a number too long to be any endpoint's index is refused on
    `index` like any other wrong index (the dashboard's check), never a 5xx."""
    sub = (await api.post(SUBS, json=cxone("https://example.com/a"))).json()
    answer = await api.post(f"{SUBS}/{sub['id']}/endpoints/{index}/disable")
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["field"] == "index"


async def test_after_a_rotation_deliveries_carry_both_signatures(api: httpx.AsyncClient) -> None:
    """Rotating answers a new secret once (a repeat with the same key answers the same one); a
    delivery then verifies with the old secret and with the new, and the Genesys hex is the new one's."""
    async with WebhookReceiver() as receiver:
        created = (await api.post(SUBS, json=cxone(receiver.url))).json()
        old = created["secret"]
        path = f"{SUBS}/{created['id']}/secret/rotate"
        rotated = await api.post(path, headers={"Idempotency-Key": "rot-1"})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        again = await api.post(path, headers={"Idempotency-Key": "rot-1"})
        assert new.startswith("whsec_") and new != old and again.json()["secret"] == new
        shown = (await api.get(f"{SUBS}/{created['id']}")).json()
        assert "secret" not in shown and shown["secretHint"] == new[:10] + "..."
        await publish(api)
        [got] = await receiver.wait_for(1)
    headers = dict(got.headers)
    assert len(headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        verify_standard(headers, got.body, [secret], time.time())
    with pytest.raises(AuthError):
        verify_standard(headers, got.body, ["whsec_" + "A" * 32], time.time())
    assert headers[GENESYS_HEADER] == sign_genesys(new, got.body)


async def test_a_test_event_reaches_that_subscriptions_endpoints_only(api: httpx.AsyncClient) -> None:
    """`POST .../test` answers the stored event's id; that subscription's endpoint receives it, and a
    subscription of the `ccbridge.test` type gets no delivery of it."""
    async with WebhookReceiver() as mine, WebhookReceiver() as other:
        sub = (await api.post(SUBS, json=cxone(mine.url))).json()
        watcher = {"name": "watch", "eventType": "ccbridge.test", "endpoints": [{"url": other.url}]}
        watching = await api.post(SUBS, json=watcher)
        assert watching.status_code == 201, watching.text
        sent = await api.post(f"{SUBS}/{sub['id']}/test")
        assert sent.status_code == 202, sent.text
        assert sent.json()["deliveries"] == 1 and sent.json()["eventType"] == "ccbridge.test"
        [got] = await mine.wait_for(1)
        status = (await api.get(f"{SUBS}/{watching.json()['id']}/delivery-status")).json()
    assert got.json()["id"] == sent.json()["id"] and got.json()["event"] == "ccbridge.test"
    assert status["counts"] == {"delivered": 0, "pending": 0, "retrying": 0, "deadLettered": 0}
