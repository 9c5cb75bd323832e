"""Fixtures of the browser tests: Debian's Chromium driven by Playwright (Python), a real ccbridge
server with a write client and a read-only client, and a real webhook receiver.

Chromium is `/usr/bin/chromium` (`make test` installs it when missing: scripts/ensure_services.sh);
it runs headless, without the sandbox (the tests run as root) and with background networking off
(the machine's network is closed, and the tests need none of it). With `SCREENSHOTS_DIR` set
(`make screenshots`), `shoot` saves each page there as a PNG; without it, into the test's folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, running_server, wait_until

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


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    opened = await context.new_page()
    opened.set_default_timeout(15_000)
    try:
        yield opened
    finally:
        await context.close()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server with the default (read and write) client, a read-only one and an audit log."""
    overrides: dict[str, Any] = {
        "auth": {
            "clients": [
                {"id": "test-client", "secret": "test-secret-0123456789"},
                {"id": READER_ID, "secret": READER_SECRET, "scopes": ["eventbridge:subscriptions:read"]},
            ]
        },
        "audit": {"path": str(tmp_path / "audit.jsonl")},
    }
    async with running_server(overrides, folder=tmp_path) as srv:
        yield srv


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


@pytest.fixture
def shoot(tmp_path: Path) -> Shoot:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    async def take(page: Page, name: str) -> None:
        await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return take


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
