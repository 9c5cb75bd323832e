"""The dashboard in a real browser: log in, replay a dead letter by clicking, test a pattern, and
a read-only login that sees but cannot act."""

from __future__ import annotations

import re

import httpx
from dashboard_support import DEAD, READER_ID, READER_SECRET, SUBS, Shoot, dead_letter, log_in
from playwright.async_api import Page, expect

from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, wait_until


async def test_replaying_a_dead_letter_by_clicking_delivers_it(
    page: Page, server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver, shoot: Shoot
) -> None:
    """Login, Dead letters, the row's Replay, Confirm: the consumer receives the event again."""
    made = await dead_letter(api, receiver, "crm-contacts")
    letter, event_id = made["letter"], made["event"]["id"]
    receiver.behave(status=200)
    await log_in(page, server, server.client_id, server.client_secret)
    await page.get_by_role("link", name="Dead letters").click()
    row = page.locator(f"#letter-{letter['id']}")
    await expect(row).to_contain_text("HTTP 400")
    await shoot(page, "deadletters")
    await row.get_by_role("button", name="Replay").click()
    await expect(page.get_by_role("heading", name="Replay 1 dead letter?")).to_be_visible()
    await expect(page.locator("#chosen")).to_contain_text(f"#{letter['id']}")
    await shoot(page, "confirm")
    await page.get_by_role("button", name="Replay", exact=True).click()
    await expect(page.locator(".flash")).to_have_text("Replayed 1 dead letter.")
    await expect(page.locator("#no-letters")).to_be_visible()
    requests = await receiver.wait_for(2, timeout=10)
    assert requests[-1].json()["id"] == event_id
    assert requests[-1].json()["metadata"]["attempt"] == 1  # replayed with its attempts reset
    audit = await page.goto(server.base_url + "/ui/audit")
    assert audit is not None and audit.status == 200
    await expect(page.locator("#chain-verdict")).to_contain_text("Hash chain intact")
    await expect(page.locator("#audit")).to_contain_text("replay")


async def test_the_pattern_tester_says_whether_and_why(
    page: Page, server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver, shoot: Shoot
) -> None:
    """A matching event is accepted; a mismatching one names the field that failed and what it held."""
    sub = (
        await api.post(
            SUBS,
            json={
                "name": "long-voice-calls",
                "eventTypes": ["custom.genesys.routing.interaction_completed"],
                "deliveryConfig": {"deliveryType": "WEBHOOK", "url": receiver.url},
                "filter": "data.channel == 'voice' && data.duration > 120",
            },
        )
    ).json()
    await log_in(page, server, server.client_id, server.client_secret)
    await page.goto(f"{server.base_url}/ui/subscriptions/{sub['id']}")
    await expect(page.locator("#filter-source")).to_contain_text("data.channel == 'voice'")
    event = (
        '{"eventType": "custom.genesys.routing.interaction_completed", "eventTime": "2026-12-01T10:00:00Z",'
        ' "source": "genesys", "data": {"channel": "%s", "duration": 300}}'
    )
    box = page.get_by_label("event JSON")
    await box.fill(event % "voice")
    await page.get_by_role("button", name="Test", exact=True).click()
    await expect(page.locator("#verdict-answer")).to_have_text("Matches: this subscription would receive it.")
    await box.fill(event % "chat")
    await page.get_by_role("button", name="Test", exact=True).click()
    await expect(page.locator("#verdict-answer")).to_have_text(
        "No match: this subscription would not receive it."
    )
    failed = page.locator("table.checks tr.fail")
    await expect(failed).to_have_count(1)
    await expect(failed).to_contain_text("data.channel")
    await expect(failed).to_contain_text('"chat"')
    assert page.url.endswith(f"/ui/subscriptions/{sub['id']}")  # answered in place, by htmx
    await shoot(page, "subscription")
    assert receiver.received == []  # testing a pattern sends nothing


async def test_a_read_only_login_sees_but_cannot_act(
    page: Page, server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """Without the write scope: the letter is listed, no action button exists, and a forged POST is 403."""
    made = await dead_letter(api, receiver, "read-only-view")
    letter = made["letter"]
    await log_in(page, server, READER_ID, READER_SECRET)
    await expect(page.locator(".badge.ro")).to_have_text("read-only")
    await page.get_by_role("link", name="Dead letters").click()
    row = page.locator(f"#letter-{letter['id']}")
    await expect(row).to_contain_text("HTTP 400")
    await expect(page.get_by_role("button", name=re.compile("Replay|Purge"))).to_have_count(0)
    await expect(page.locator("input[type=checkbox]")).to_have_count(0)
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    assert csrf
    for path in ("/ui/deadletters/confirm", "/ui/deadletters/replay", "/ui/deadletters/purge"):
        answer = await page.request.post(
            server.base_url + path,
            form={"csrf": csrf, "action": "replay", "scope": "ids", "id": str(letter["id"])},
        )
        assert answer.status == 403, path
        assert "read-only" in await answer.text()
    [still] = (await api.get(DEAD, params={"subscriptionId": made["subscription"]["id"]})).json()["entities"]
    assert still["id"] == letter["id"]
    assert len(receiver.received) == 1  # never re-sent


async def test_every_page_renders_for_a_logged_in_operator(
    page: Page, server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver, shoot: Shoot
) -> None:
    """Overview, subscriptions, audit and login render with the figures of a small live scenario."""
    await shoot_login(page, server, shoot)
    await dead_letter(api, receiver, "billing-sync")
    receiver.behave(status=200)
    good = (
        await api.post(
            SUBS,
            json={
                "name": "agent-desktop",
                "eventType": "contact.created",
                "endpoints": [{"url": receiver.url}],
            },
        )
    ).json()
    for n in range(5):
        await api.post(
            "/api/v2/eventbridge/events",
            json={
                "eventType": "contact.created",
                "attributes": {"n": n},
                "timestamp": "2026-12-01T10:00:00Z",
            },
        )

    async def delivered() -> bool:
        status = (await api.get(f"{SUBS}/{good['id']}/delivery-status")).json()
        return bool(status["counts"]["delivered"] == 5)

    assert await wait_until(delivered, timeout=15)
    await log_in(page, server, server.client_id, server.client_secret)
    await expect(page.locator("#events-in")).to_have_text("6")
    await expect(page.locator("#dead-letters")).to_contain_text("1")
    await expect(page.locator("main")).to_contain_text("billing-sync")  # in trouble
    await shoot(page, "overview")
    await page.get_by_role("link", name="Subscriptions").click()
    await expect(page.locator("#subscriptions tbody tr")).to_have_count(2)
    await expect(page.locator("#subscriptions")).to_contain_text("100.0 %")
    await shoot(page, "subscriptions")
    await page.get_by_role("link", name="Audit log").click()
    await expect(page.locator("#chain-verdict")).to_contain_text("Hash chain intact: 2 lines")
    await shoot(page, "audit")
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url(re.compile(r"/ui/login"))
    await page.goto(server.base_url + "/ui/subscriptions")
    await page.wait_for_url(re.compile(r"/ui/login\?next="))


async def shoot_login(page: Page, server: RunningServer, shoot: Shoot) -> None:
    await page.goto(server.base_url + "/ui/login")
    await shoot(page, "login")
