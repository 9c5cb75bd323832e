"""The dashboard's operations in a real browser: replay a time range by clicking and watch the job to
its final count (the page following it by itself) while the consumer receives the events again;
retry a failed delivery from its event's page; disable and enable an endpoint; rotate the secret and
send a test event."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from dashboard_support import EVENTS, SUBS, Shoot, dead_letter, log_in
from playwright.async_api import Page, expect

from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, running_server, wait_until


@pytest.fixture
async def gated_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server whose replayer waits while 2 or more deliveries are unsettled (`limits.max_pending` 4)."""
    async with running_server({"limits": {"max_pending": 4}}, folder=tmp_path) as srv:
        yield srv


@contextlib.asynccontextmanager
async def gate() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A webhook endpoint that answers nothing until the event is set (then 200 to everything)."""
    opened = asyncio.Event()

    async def hold(request: web.Request) -> web.Response:
        await opened.wait()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/gate", hold)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/gate", opened
    finally:
        opened.set()
        await runner.cleanup()


async def test_replaying_a_range_by_clicking_delivers_the_events_again(
    page: Page, gated_server: RunningServer, receiver: WebhookReceiver, shoot: Shoot
) -> None:
    """Replay: tick the subscription, dry run (3 would go, none sent), start it; the job waits (two
    deliveries are held unsettled by a gate), its page says running and follows it by itself (htmx)
    once the gate opens, to "Queued 3"; the consumer has each event twice."""
    server = gated_server
    token = await server.token()
    async with (
        httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as api,
        gate() as (gate_url, opened),
    ):
        sub = (
            await api.post(
                SUBS,
                json={
                    "name": "wallboard",
                    "eventType": "contact.created",
                    "endpoints": [{"url": receiver.url}],
                },
            )
        ).json()
        await api.post(
            SUBS, json={"name": "gated", "eventType": "OrderCreated", "endpoints": [{"url": gate_url}]}
        )
        ids = [await publish(api, "contact.created", n) for n in range(3)]
        await receiver.wait_for(3, timeout=15)
        await log_in(page, server, server.client_id, server.client_secret)
        await page.get_by_role("link", name="Replay").click()
        await page.get_by_label(re.compile("wallboard")).check()
        await shoot(page, "replay")
        await page.get_by_role("button", name="Dry run (count only)").click()
        await expect(page.locator("#final-count")).to_have_text("Would queue 3 deliveries for 3 events.")
        assert len(receiver.received) == 3  # a dry run sends nothing
        held = [await publish(api, "OrderCreated", n) for n in range(2)]
        assert len(held) == 2
        await page.get_by_role("button", name="Start this replay").click()
        await expect(page.locator("#job-state")).to_have_text("running")
        await expect(page.locator("#job-running")).to_be_visible()
        await shoot(page, "replay-job-running")
        assert len(receiver.received) == 3
        opened.set()
        await expect(page.locator("#final-count")).to_have_text("Queued 3 deliveries for 3 events.")
        await expect(page.locator("#job-state")).to_have_text("succeeded")
        await expect(page.locator("#job-progress")).to_have_attribute("value", "100.0")
        await shoot(page, "replay-job")
        received = await receiver.wait_for(6, timeout=15)
        assert sorted(r.json()["id"] for r in received[3:]) == sorted(ids)
        jobs = (await api.get("/api/v2/eventbridge/replays")).json()["items"]
        assert [j["dryRun"] for j in jobs] == [False, True] and jobs[0]["subscriptionIds"] == [sub["id"]]


async def publish(api: httpx.AsyncClient, event_type: str, n: int) -> str:
    ack = await api.post(
        EVENTS, json={"eventType": event_type, "attributes": {"n": n}, "timestamp": "2026-12-01T10:00:00Z"}
    )
    assert ack.status_code == 201, ack.text
    return str(ack.json()["id"])


async def test_retrying_a_failed_delivery_from_its_events_page(
    page: Page, server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver, shoot: Shoot
) -> None:
    """Events, the event, its 400 attempt with the answer, Retry: the consumer gets it, a 200 attempt
    is added under the first."""
    made = await dead_letter(api, receiver, "crm-sync")
    event_id = made["event"]["id"]
    receiver.behave(status=200)
    await log_in(page, server, server.client_id, server.client_secret)
    await page.get_by_role("link", name="Events").click()
    await page.get_by_label("Event type").fill("contact.created")
    await page.get_by_role("button", name="Search").click()
    row = page.locator(f"#event-{event_id}")
    await expect(row).to_be_visible()
    await shoot(page, "events")
    await row.get_by_role("link", name=event_id).click()
    attempts = page.locator("table.attempts tbody tr")
    await expect(attempts).to_have_count(1)
    await expect(attempts.first).to_contain_text("400")
    await page.get_by_role("button", name="Retry").click()
    await expect(page.locator(".flash")).to_contain_text("queued again")
    requests = await receiver.wait_for(2, timeout=15)
    assert requests[-1].json()["id"] == event_id

    async def two_attempts() -> bool:
        await page.reload()
        return await attempts.count() == 2

    assert await wait_until(two_attempts, timeout=15)
    await expect(attempts.nth(1)).to_contain_text("delivered")
    await shoot(page, "event")


async def test_disabling_and_enabling_an_endpoint_and_rotating_its_secret(
    page: Page, server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver, shoot: Shoot
) -> None:
    """The subscription's page: Disable (breaker disabled, in the list too), Enable (closed), Rotate
    secret (shown once), Send test event (the consumer receives it, the page lists its delivery)."""
    sub = (
        await api.post(
            SUBS,
            json={
                "name": "agent-desktop",
                "eventType": "contact.created",
                "endpoints": [{"url": receiver.url}],
            },
        )
    ).json()
    await log_in(page, server, server.client_id, server.client_secret)
    await page.goto(f"{server.base_url}/ui/subscriptions/{sub['id']}")
    breaker = page.locator("#breaker-0")
    await expect(breaker).to_have_text("closed")
    await page.get_by_role("button", name="Disable").click()
    await expect(breaker).to_have_text("disabled")
    await expect(page.locator(".flash")).to_contain_text("Endpoint 0 disabled")
    await page.get_by_role("link", name="Subscriptions").first.click()
    await expect(page.locator("#subscriptions .breaker")).to_have_text("disabled")
    await page.get_by_role("link", name="agent-desktop").click()
    await page.get_by_role("button", name="Enable").click()
    await expect(breaker).to_have_text("closed")
    state = (await api.get(f"{SUBS}/{sub['id']}/endpoints")).json()["entities"][0]["state"]
    assert state == "closed"
    await page.get_by_role("button", name="Rotate secret…").click()
    await page.get_by_role("button", name="Rotate", exact=True).click()
    secret = await page.locator("#new-secret").inner_text()
    assert secret.startswith("whsec_") and secret != sub["secret"]
    await shoot(page, "secret-rotated")
    await page.get_by_role("link", name="Back to the subscription").click()
    await expect(page.locator("main")).not_to_contain_text(secret)
    await page.get_by_role("button", name="Send test event").click()
    await expect(page.locator(".flash")).to_have_text("Test event stored: 1 delivery queued.")
    [request] = await receiver.wait_for(1, timeout=15)
    assert request.json()["event"] == "ccbridge.test"
    await page.goto(f"{server.base_url}/ui/subscriptions/{sub['id']}")
    await expect(page.locator("#recent-deliveries tbody tr")).to_have_count(1)
    await expect(page.locator("#recent-deliveries")).to_contain_text("ccbridge.test")
    await shoot(page, "subscription-endpoints")
