"""The dashboard's events, replay and endpoint pages over real HTTP, against a real receiver: search and
cursor pages, an event's attempts (credentials masked), retrying one or every failed delivery of a
filter (through a confirmation), replay jobs from a form (dry run, start, bad forms), enabling and
disabling an endpoint, rotating the secret (shown once) and sending a test event; each action refused
without the session's CSRF token and for a read-only client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_dashboard_http import READER, SUBS, WRITER, csrf_of, logged_in

from ccbridge.core import signatures
from ccbridge.errors import AuthError
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, running_server, wait_until

EVENTS = "/api/v2/eventbridge/events"
REPLAYS = "/api/v2/eventbridge/replays"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    clients = [
        {"id": WRITER[0], "secret": WRITER[1]},
        {"id": READER[0], "secret": READER[1], "scopes": ["eventbridge:subscriptions:read"]},
    ]
    overrides = {"auth": {"clients": clients}, "audit": {"path": str(tmp_path / "audit.jsonl")}}
    async with running_server(overrides, folder=tmp_path) as srv:
        yield srv


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = await server.token()
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as r:
        yield r


async def subscription(
    api: httpx.AsyncClient, name: str, url: str, event_type: str = "contact.created"
) -> Any:
    answer = await api.post(SUBS, json={"name": name, "eventType": event_type, "endpoints": [{"url": url}]})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def publish(api: httpx.AsyncClient, event_type: str, n: int) -> str:
    answer = await api.post(
        EVENTS, json={"eventType": event_type, "attributes": {"n": n}, "timestamp": "2026-12-01T10:00:00Z"}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def delivery_of(api: httpx.AsyncClient, event_id: str, status: str) -> dict[str, Any]:
    """The event's delivery once it is in `status`."""

    async def found() -> dict[str, Any] | None:
        shown = (await api.get(f"{EVENTS}/{event_id}")).json()
        return next((d for d in shown["deliveries"] if d["status"] == status), None)

    delivery = await wait_until(found, timeout=15)
    assert delivery, f"the delivery of {event_id} never became {status}"
    return delivery


async def test_search_filters_by_type_subscription_and_time_with_cursor_pages(
    server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """Type and subscription narrow the list; pages follow the cursor without repeating; a range in the
    future finds nothing; a bad time is a 400 page naming the field."""
    first = await subscription(api, "contacts", receiver.url)
    await subscription(api, "orders", receiver.url, "OrderCreated")
    contacts = [await publish(api, "contact.created", n) for n in range(3)]
    orders = [await publish(api, "OrderCreated", n) for n in range(2)]
    async with logged_in(server, READER) as web:
        page = await web.get("/ui/events", params={"type": "OrderCreated"})
        assert page.status_code == 200
        assert all(f'id="event-{e}"' in page.text for e in orders)
        assert not any(f'id="event-{e}"' in page.text for e in contacts)
        by_sub = await web.get("/ui/events", params={"subscription": first["id"], "limit": "2"})
        one = re.findall(r'id="event-([^"]+)"', by_sub.text)
        assert one == contacts[::-1][:2]  # newest first
        older = re.search(r'href="/ui/events\?([^"]+)" id="next-page"', by_sub.text)
        assert older, "a full page links to the next"
        rest = await web.get("/ui/events?" + older.group(1).replace("&amp;", "&"))
        assert re.findall(r'id="event-([^"]+)"', rest.text) == contacts[:1]
        future = await web.get("/ui/events", params={"from": "2999-01-01T00:00"})
        assert 'id="no-events"' in future.text
        bad = await web.get("/ui/events", params={"from": "yesterday"})
        assert bad.status_code == 400 and "from" in bad.text
        backwards = await web.get("/ui/events", params={"from": "2026-12-02T00:00", "to": "2026-12-01T00:00"})
        assert backwards.status_code == 400 and "later than from" in backwards.text


async def test_an_events_page_shows_each_attempt_with_its_answer_and_masked_endpoint(
    server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """An attempt answered 400: status, latency, the start of the body and error class; no password."""
    receiver.behave(status=400)
    url = receiver.url.replace("http://", "http://ops:hunter2-password@")
    await subscription(api, "masked", url)
    event_id = await publish(api, "contact.created", 1)
    delivery = await delivery_of(api, event_id, "dead")
    [attempt] = (await api.get(f"/api/v2/eventbridge/deliveries/{delivery['id']}/attempts")).json()["items"]
    async with logged_in(server, READER) as web:
        page = await web.get(f"/ui/events/{event_id}")
        assert page.status_code == 200
        assert "hunter2-password" not in page.text
        section = page.text.split(f'id="delivery-{delivery["id"]}"', 1)[1]
        assert "<td>400</td>" in section and " ms</td>" in section
        assert attempt["errorClass"] and attempt["errorClass"] in section
        assert attempt["responseBody"] is None or attempt["responseBody"][:20] in section
        assert f'id="retry-{delivery["id"]}"' not in page.text  # a reader gets no button
        missing = await web.get("/ui/events/no-such-event")
        assert missing.status_code == 404


async def test_retrying_one_delivery_needs_csrf_and_the_write_scope(
    server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """Without the token or the write scope: 403 and nothing sent; with both: queued and delivered."""
    receiver.behave(status=400)
    await subscription(api, "retry-one", receiver.url)
    event_id = await publish(api, "contact.created", 1)
    delivery = await delivery_of(api, event_id, "dead")
    receiver.behave(status=200)
    path = f"/ui/deliveries/{delivery['id']}/retry"
    async with logged_in(server, READER) as reader:
        token = csrf_of((await reader.get(f"/ui/events/{event_id}")).text)
        refused = await reader.post(path, data={"csrf": token})
        assert refused.status_code == 403 and "read-only" in refused.text
    async with logged_in(server, WRITER) as web:
        page = await web.get(f"/ui/events/{event_id}")
        assert f'id="retry-{delivery["id"]}"' in page.text
        assert (await web.post(path, data={"csrf": ""})).status_code == 403
        assert len(receiver.received) == 1
        done = await web.post(path, data={"csrf": csrf_of(page.text)})
        assert done.status_code == 303
        assert done.headers["location"].startswith(f"/ui/events/{event_id}?done=retried%3A{delivery['id']}")
        await delivery_of(api, event_id, "delivered")
        assert len(receiver.received) == 2
        shown = await web.get(done.headers["location"])
        assert f"Delivery {delivery['id']} queued again." in shown.text
        again = await web.post(f"/ui/deliveries/{2**63}/retry", data={"csrf": csrf_of(page.text)})
        assert again.status_code == 400


async def test_retrying_every_failed_delivery_of_a_filter_goes_through_a_confirmation(
    server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """The confirmation lists the filter's dead deliveries and changes nothing; confirming retries those
    (of the filtered subscription only); a reader is refused both steps."""
    receiver.behave(status=400)
    chosen = await subscription(api, "chosen", receiver.url)
    other = await subscription(api, "other", receiver.url)
    event_ids = [await publish(api, "contact.created", n) for n in range(2)]
    deads = [await delivery_of(api, e, "dead") for e in event_ids]
    assert len(receiver.received) == 4  # two events, two subscriptions each

    async def dead_of(sub_id: str) -> list[int]:
        page = (await api.get(f"{SUBS}/{sub_id}/deliveries", params={"status": "dead"})).json()
        return sorted(d["id"] for d in page["items"])

    mine, theirs = await dead_of(chosen["id"]), await dead_of(other["id"])
    assert len(mine) == 2 and len(theirs) == 2 and deads
    receiver.behave(status=200)
    form = {"subscription": chosen["id"], "type": "contact.created"}
    async with logged_in(server, READER) as reader:
        token = csrf_of((await reader.get("/ui/events")).text)
        for path in ("/ui/events/retry-failed/confirm", "/ui/events/retry-failed"):
            answer = await reader.post(path, data={**form, "csrf": token, "id": str(mine[0])})
            assert answer.status_code == 403, path
    async with logged_in(server, WRITER) as web:
        listing = await web.get("/ui/events", params=form)
        assert 'id="retry-failed"' in listing.text
        token = csrf_of(listing.text)
        confirm = await web.post("/ui/events/retry-failed/confirm", data={**form, "csrf": token})
        assert confirm.status_code == 200 and "Retry 2 failed deliveries?" in confirm.text
        ids = sorted(int(i) for i in re.findall(r'name="id" value="(\d+)"', confirm.text))
        assert ids == mine
        assert await dead_of(chosen["id"]) == mine  # confirming is not acting
        fields = [("csrf", token), *form.items(), *(("id", str(i)) for i in ids)]
        done = await web.post(
            "/ui/events/retry-failed",
            content="&".join(f"{k}={v}" for k, v in fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 303 and "done=retried%3A2%3A0" in done.headers["location"]

        async def redelivered() -> bool:
            return len(receiver.received) == 6 and await dead_of(chosen["id"]) == []

        assert await wait_until(redelivered, timeout=15)
        assert await dead_of(other["id"]) == theirs
        shown = await web.get(done.headers["location"])
        assert "Queued 2 failed deliveries again." in shown.text
        nothing = await web.post("/ui/events/retry-failed/confirm", data={**form, "csrf": token})
        assert 'id="nothing-failed"' in nothing.text


async def job_of(api: httpx.AsyncClient, location: str) -> dict[str, Any]:
    job_id = location.rsplit("/", 1)[1]

    async def finished() -> dict[str, Any] | None:
        job = (await api.get(f"{REPLAYS}/{job_id}")).json()
        return job if job["state"] in ("succeeded", "failed") else None

    job = await wait_until(finished, timeout=15)
    assert job, "the replay job never finished"
    return job


async def test_replay_from_the_form_dry_run_then_start(
    server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """A dry run counts and sends nothing; the job page shows the final count and stops polling; the
    real replay re-delivers to the chosen subscription only."""
    chosen = await subscription(api, "replayed", receiver.url)
    await subscription(api, "not-replayed", receiver.url)
    event_ids = [await publish(api, "contact.created", n) for n in range(3)]
    for e in event_ids:
        await delivery_of(api, e, "delivered")
    assert len(receiver.received) == 6
    async with logged_in(server, WRITER) as web:
        form_page = await web.get("/ui/replay")
        token = csrf_of(form_page.text)
        start = re.search(r'name="from" value="([^"]+)"', form_page.text)
        end = re.search(r'name="to" value="([^"]+)"', form_page.text)
        assert start and end  # the last hour by default
        base = {"csrf": token, "from": start.group(1), "to": end.group(1), "subscription": chosen["id"]}
        dry = await web.post("/ui/replay", data={**base, "action": "dry-run"})
        assert dry.status_code == 303 and dry.headers["location"].startswith("/ui/replay/rpl_")
        job = await job_of(api, dry.headers["location"])
        assert job["dryRun"] is True and job["counts"]["enqueued"] == 3
        page = await web.get(dry.headers["location"])
        assert "Would queue 3 deliveries for 3 events." in page.text and "hx-trigger" not in page.text
        assert 'id="start-for-real"' in page.text
        assert len(receiver.received) == 6  # a dry run sends nothing
        real = await web.post("/ui/replay", data={**base, "action": "start"})
        job = await job_of(api, real.headers["location"])
        assert job["state"] == "succeeded" and job["dryRun"] is False
        received = await receiver.wait_for(9, timeout=15)
        assert sorted(r.json()["id"] for r in received[6:]) == sorted(event_ids)
        page = await web.get(real.headers["location"])
        assert "Queued 3 deliveries for 3 events." in page.text
        listing = await web.get("/ui/replay")
        assert job["id"] in listing.text


async def test_bad_replay_forms_answer_the_form_with_the_field_at_fault(server: RunningServer) -> None:
    async with logged_in(server, WRITER) as web:
        token = csrf_of((await web.get("/ui/replay")).text)
        good = {"csrf": token, "from": "2026-12-01T00:00", "to": "2026-12-02T00:00", "action": "start"}
        for data, status, text in (
            ({**good, "from": ""}, 400, "<code>from</code>: is required"),
            ({**good, "to": "tomorrow"}, 400, "<code>to</code>"),
            ({**good, "to": "2026-11-01T00:00"}, 422, "must be later than from"),
            ({**good, "pattern": "{not json"}, 400, "<code>pattern</code>"),
            ({**good, "pattern": '{"data": 5}'}, 422, "pattern"),
            ({**good, "subscription": "sub_missing"}, 422, "no subscription with id sub_missing"),
        ):
            answer = await web.post("/ui/replay", data=data)
            assert answer.status_code == status, (data, answer.text)
            assert 'id="replay-errors"' in answer.text and text in answer.text, data
            assert 'id="replay-form"' in answer.text  # the form again, to correct
        assert (await web.post("/ui/replay", data={**good, "csrf": "x"})).status_code == 403
    async with logged_in(server, READER) as reader:
        page = await reader.get("/ui/replay")
        assert 'id="replay-form"' not in page.text and 'id="read-only-note"' in page.text
        answer = await reader.post("/ui/replay", data={**good, "csrf": csrf_of(page.text)})
        assert answer.status_code == 403


async def test_disable_and_enable_an_endpoint_from_the_subscription_page(
    server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """The breaker state follows the switch, in the API and in the subscriptions list; a reader and a
    form without the token are refused; an index out of range is a 422 page."""
    sub = await subscription(api, "switched", receiver.url)
    base = f"/ui/subscriptions/{sub['id']}/endpoints/0"

    async def state() -> str:
        return str((await api.get(f"{SUBS}/{sub['id']}/endpoints")).json()["entities"][0]["state"])

    async with logged_in(server, READER) as reader:
        page = await reader.get(f"/ui/subscriptions/{sub['id']}")
        assert 'id="breaker-0"' in page.text and 'id="disable-0"' not in page.text
        assert (await reader.post(base + "/disable", data={"csrf": csrf_of(page.text)})).status_code == 403
    async with logged_in(server, WRITER) as web:
        page = await web.get(f"/ui/subscriptions/{sub['id']}")
        token = csrf_of(page.text)
        assert (await web.post(base + "/disable", data={"csrf": ""})).status_code == 403
        assert await state() == "closed"
        done = await web.post(base + "/disable", data={"csrf": token})
        assert done.status_code == 303 and "done=disabled%3A0" in done.headers["location"]
        assert await state() == "disabled"
        page = await web.get(done.headers["location"])
        assert "Endpoint 0 disabled" in page.text and 'id="enable-0"' in page.text
        listing = await web.get("/ui/subscriptions")
        assert 'class="breaker disabled"' in listing.text
        await web.post(base + "/enable", data={"csrf": token})
        assert await state() == "closed"
        assert 'class="breaker closed"' in (await web.get("/ui/subscriptions")).text
        wrong = await web.post(f"/ui/subscriptions/{sub['id']}/endpoints/7/disable", data={"csrf": token})
        assert wrong.status_code == 422
        unknown = await web.post(base + "/explode", data={"csrf": token})
        assert unknown.status_code == 404


async def test_rotating_the_secret_shows_it_once_and_both_secrets_sign(
    server: RunningServer, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """Confirming changes nothing; rotating answers the new secret on that page only; a test event sent
    from the page then verifies with the new secret and with the old one (the grace period)."""
    sub = await subscription(api, "rotated", receiver.url)
    old = sub["secret"]
    one = f"/ui/subscriptions/{sub['id']}"
    async with logged_in(server, READER) as reader:
        token = csrf_of((await reader.get(one)).text)
        for path in ("/secret/confirm", "/secret/rotate", "/test"):
            assert (await reader.post(one + path, data={"csrf": token})).status_code == 403, path
    async with logged_in(server, WRITER) as web:
        token = csrf_of((await web.get(one)).text)
        assert (await web.post(one + "/secret/rotate", data={"csrf": ""})).status_code == 403
        confirm = await web.post(one + "/secret/confirm", data={"csrf": token})
        assert confirm.status_code == 200 and "Rotate the signing secret of rotated?" in confirm.text
        rotated = await web.post(one + "/secret/rotate", data={"csrf": token})
        assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
        found = re.search(r'<pre id="new-secret">(whsec_[^<]+)</pre>', rotated.text)
        assert found and found.group(1) != old
        new = found.group(1)
        assert new not in (await web.get(one)).text
        assert new not in (server.folder / "audit.jsonl").read_text()
        sent = await web.post(one + "/test", data={"csrf": token})
        assert sent.status_code == 303 and sent.headers["location"].startswith("/ui/events/")
        [request] = await receiver.wait_for(1, timeout=15)
        assert request.json()["event"] == "ccbridge.test"
        event_page = await web.get(sent.headers["location"])
        assert "Test event stored: 1 delivery queued." in event_page.text
    for secrets, valid in (([new], True), ([old], True), (["whsec_" + "QUFB" * 8], False)):
        assert signed_with(request, secrets) is valid, secrets


def signed_with(request: Any, secrets: list[str]) -> bool:
    try:
        signatures.verify_standard(request.headers, request.body, secrets, request.received_at)
    except AuthError:
        return False
    return True
