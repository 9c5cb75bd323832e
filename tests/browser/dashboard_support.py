"""Helpers of the browser tests (constants, logging in, making a dead letter), kept out of conftest.py so
test modules import them by a name no other folder's conftest shares."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from playwright.async_api import Page

from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
READER_ID = "dashboard-reader"
READER_SECRET = "reader-secret-0123456789"
SUBS = "/api/v2/eventbridge/subscriptions"
EVENTS = "/api/v2/eventbridge/events"
DEAD = "/api/v2/eventbridge/deadletters"
Shoot = Callable[[Page, str], Awaitable[None]]


async def log_in(page: Page, server: RunningServer, client_id: str, secret: str) -> None:
    """Open the dashboard, get sent to the login form, fill it in, and land on the overview."""
    await page.goto(server.base_url + "/ui/")
    await page.wait_for_url(re.compile(r"/ui/login"))
    await page.get_by_label("Client id").fill(client_id)
    await page.get_by_label("Client secret").fill(secret)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r"/ui/$"))


async def dead_letter(api: httpx.AsyncClient, receiver: WebhookReceiver, name: str) -> dict[str, Any]:
    """A subscription to `receiver` answering 400 (permanent), one event to it, and its dead letter."""
    receiver.behave(status=400)
    sub = (
        await api.post(
            SUBS,
            json={"name": name, "eventType": "contact.created", "endpoints": [{"url": receiver.url}]},
        )
    ).json()
    ack = (
        await api.post(
            EVENTS,
            json={
                "eventType": "contact.created",
                "attributes": {"contactId": name},
                "timestamp": "2026-12-01T10:00:00Z",
            },
        )
    ).json()

    async def listed() -> list[dict[str, Any]]:
        return list((await api.get(DEAD, params={"subscriptionId": sub["id"]})).json()["entities"])

    letters = await wait_until(listed, timeout=15)
    assert letters, "the delivery never became a dead letter"
    return {"subscription": sub, "event": ack, "letter": letters[0]}
