"""Every request of the client library names ccbridge and its version; Genesys-dialect bodies also
carry `X-Genesys-Client-Name`, as Genesys Cloud's own clients send it."""

from __future__ import annotations

from pathlib import Path

from client_support import Bridge
from pydantic import SecretStr

from ccbridge import __version__
from ccbridge.client import BridgeClient, RegistryConfig
from ccbridge.client.registry import RegistrySync
from ccbridge.testing.receiver import WebhookReceiver

CXONE = {
    "name": "cx",
    "eventType": "contact.created",
    "endpoints": [{"url": "https://hooks.example/cx", "type": "webhook"}],
}
GENESYS = {
    "name": "gen",
    "eventTypes": ["custom.order"],
    "deliveryConfig": {"deliveryType": "WEBHOOK", "url": "https://hooks.example/gen"},
}
GENESYS_EVENT = {
    "eventType": "custom.shop.order.created",
    "eventTime": "2026-01-01T00:00:00Z",
    "source": "shop",
    "data": {"n": 1},
}


async def test_every_request_names_ccbridge_and_its_version(client: BridgeClient, bridge: Bridge) -> None:
    """Token, API and Genesys-dialect requests all carry `User-Agent: ccbridge/<version>`; only the
    Genesys-dialect writes carry `X-Genesys-Client-Name`."""
    await client.create_subscription(CXONE)
    await client.create_subscription(GENESYS)
    await client.publish_event(GENESYS_EVENT, idempotency_key="k-1")
    await client.list_subscriptions()
    tries = bridge.wire.token_tries + bridge.wire.tries
    assert tries and {t.headers.get("user-agent") for t in tries} == {f"ccbridge/{__version__}"}
    named = [(t.method, t.url.path) for t in bridge.wire.tries if "x-genesys-client-name" in t.headers]
    assert named == [
        ("POST", "/api/v2/eventbridge/subscriptions"),
        ("POST", "/api/v2/eventbridge/events"),
    ]
    assert {
        t.headers["x-genesys-client-name"] for t in bridge.wire.tries if "x-genesys-client-name" in t.headers
    } == {"ccbridge"}


async def test_registry_posts_name_ccbridge_and_the_documents_source(tmp_path: Path) -> None:
    """The client's registry post carries the same User-Agent and `X-Event-Source: cxone-eventbridge`."""
    async with WebhookReceiver(secrets=["reg-secret"]) as receiver:
        registry = RegistrySync(RegistryConfig(webhook_url=receiver.url, secret=SecretStr("reg-secret")))
        registry.notify("sub-1", "active")
        assert await registry.drain() == []
        (request,) = receiver.received
    assert request.headers["user-agent"] == f"ccbridge/{__version__}"
    assert request.headers["x-event-source"] == "cxone-eventbridge"
