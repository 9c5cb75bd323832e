"""Fixtures of the browser tests: Debian's Chromium driven by Playwright (Python), a real ccbridge
server with a write client and a read-only client, and a real webhook receiver.

Chromium is `/usr/bin/chromium` (`make test` installs it when missing: scripts/ensure_services.sh);
it runs headless, without the sandbox (the tests run as root) and with background networking off
(the machine's network is closed, and the tests need none of it). With `SCREENSHOTS_DIR` set
(`make screenshots`), `shoot` saves each page there as a PNG; without it, into the test's folder.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_support import CHROMIUM, CHROMIUM_ARGS, READER_ID, READER_SECRET, Shoot
from playwright.async_api import Browser, Page, async_playwright

from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, running_server


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
