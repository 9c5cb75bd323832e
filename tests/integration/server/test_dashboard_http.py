"""The dashboard over real HTTP: login and session rules, CSRF, the 403 of a read-only client,
dead-letter actions through their confirmation forms, the audit verdict, and what pages never show."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccbridge.testing.server import RunningServer, running_server, wait_until

SUBS = "/api/v2/eventbridge/subscriptions"
DEAD = "/api/v2/eventbridge/deadletters"
WRITER = ("test-client", "test-secret-0123456789")
READER = ("reader", "reader-secret-0123456789")
PUBLISHER = ("publisher", "publisher-secret-0123456789")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    clients = [
        {"id": WRITER[0], "secret": WRITER[1]},
        {"id": READER[0], "secret": READER[1], "scopes": ["eventbridge:subscriptions:read"]},
        {"id": PUBLISHER[0], "secret": PUBLISHER[1], "scopes": ["eventbridge:events:write"]},
    ]
    overrides = {"auth": {"clients": clients}, "audit": {"path": str(tmp_path / "audit.jsonl")}}
    async with running_server(overrides, folder=tmp_path) as srv:
        yield srv


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = await server.token()
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@contextlib.asynccontextmanager
async def logged_in(server: RunningServer, client: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client logged in through the form, as a browser does."""
    async with httpx.AsyncClient(base_url=server.base_url) as web:
        form = await web.get("/ui/login")
        answer = await web.post(
            "/ui/login",
            data={"csrf": csrf_of(form.text), "client_id": client[0], "client_secret": client[1]},
        )
        assert answer.status_code == 303, answer.text
        yield web


async def dead_letters(
    api: httpx.AsyncClient, name: str, count: int, event_type: str = "contact.created"
) -> tuple[str, list[int]]:
    """A subscription whose endpoint refuses every event (a closed port), `count` events to it,
    and the ids of its dead letters."""
    sub = (
        await api.post(
            SUBS,
            json={
                "name": name,
                "eventType": event_type,
                "endpoints": [{"url": "http://127.0.0.1:9/refused"}],
                "retryConfiguration": {"maxRetries": 0},
            },
        )
    ).json()
    for n in range(count):
        await api.post(
            "/api/v2/eventbridge/events",
            json={
                "eventType": event_type,
                "attributes": {"n": n},
                "timestamp": "2026-12-01T10:00:00Z",
            },
        )

    async def listed() -> list[dict[str, Any]] | None:
        found = (await api.get(DEAD, params={"subscriptionId": sub["id"]})).json()["entities"]
        return found if len(found) == count else None

    letters = await wait_until(listed, timeout=15)
    assert letters, "the deliveries never became dead letters"
    return sub["id"], sorted(d["id"] for d in letters)


async def remaining(api: httpx.AsyncClient, sub_id: str) -> list[int]:
    return sorted(
        d["id"] for d in (await api.get(DEAD, params={"subscriptionId": sub_id})).json()["entities"]
    )


async def test_pages_need_a_session(server: RunningServer) -> None:
    """Without a session a page redirects to the login form (htmx gets HX-Redirect); a forged cookie too."""
    async with httpx.AsyncClient(base_url=server.base_url) as web:
        page = await web.get("/ui/deadletters?subscription=x")
        assert page.status_code == 303
        assert page.headers["location"] == "/ui/login?next=%2Fui%2Fdeadletters%3Fsubscription%3Dx"
        htmx = await web.get("/ui/", headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/ui/login")
        web.cookies.set("ccbridge_session", "v1.eyJzdWIiOiJ0ZXN0LWNsaWVudCJ9.AAAA")
        forged = await web.get("/ui/")
        assert forged.status_code == 303


async def test_login_checks_the_client_like_the_token_route(server: RunningServer) -> None:
    """A wrong secret is 401 with no session; a form without its login token is 403; a client without
    the read scope is refused; a good login sets a strict, HttpOnly, expiring cookie."""
    async with httpx.AsyncClient(base_url=server.base_url) as web:
        form = await web.get("/ui/login")
        token = csrf_of(form.text)
        wrong = await web.post(
            "/ui/login", data={"csrf": token, "client_id": WRITER[0], "client_secret": "nope"}
        )
        assert wrong.status_code == 401 and "ccbridge_session" not in wrong.headers.get("set-cookie", "")
        assert "client authentication failed" in wrong.text
        web.cookies.clear()
        stale = await web.post(
            "/ui/login", data={"csrf": token, "client_id": WRITER[0], "client_secret": WRITER[1]}
        )
        assert stale.status_code == 403
        form = await web.get("/ui/login")
        publisher = await web.post(
            "/ui/login",
            data={"csrf": csrf_of(form.text), "client_id": PUBLISHER[0], "client_secret": PUBLISHER[1]},
        )
        assert publisher.status_code == 403 and "ccbridge_session" not in publisher.headers.get(
            "set-cookie", ""
        )
        form = await web.get("/ui/login")
        good = await web.post(
            "/ui/login",
            data={
                "csrf": csrf_of(form.text),
                "client_id": WRITER[0],
                "client_secret": WRITER[1],
                "next": "//evil.example/",
            },
        )
        assert good.status_code == 303 and good.headers["location"] == "/ui/"  # never another site
        cookie = next(c for c in good.headers.get_list("set-cookie") if c.startswith("ccbridge_session="))
        attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
        assert {"httponly", "path=/ui", "samesite=strict", "max-age=3600"} <= attributes
        assert WRITER[1] not in cookie


async def test_actions_need_the_sessions_csrf_token(server: RunningServer, api: httpx.AsyncClient) -> None:
    """A POST without the token, or with another session's, is refused 403 and changes nothing."""
    sub_id, ids = await dead_letters(api, "csrf", 1)
    async with logged_in(server, WRITER) as web, logged_in(server, WRITER) as other:
        foreign = csrf_of((await other.get("/ui/deadletters")).text)
        for data in (
            {"scope": "ids", "id": str(ids[0])},
            {"csrf": foreign, "scope": "ids", "id": str(ids[0])},
        ):
            answer = await web.post("/ui/deadletters/purge", data=data)
            assert answer.status_code == 403 and "CSRF" in answer.text
        assert await remaining(api, sub_id) == ids


async def test_a_read_only_client_is_refused_every_action(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    """The page lists the letters with no action form; posting one anyway is 403 and changes nothing."""
    sub_id, ids = await dead_letters(api, "read-only", 1)
    async with logged_in(server, READER) as web:
        page = await web.get("/ui/deadletters")
        assert f'id="letter-{ids[0]}"' in page.text
        assert (
            ">Replay</button>" not in page.text
            and ">Purge</button>" not in page.text
            and 'type="checkbox"' not in page.text
        )
        token = csrf_of(page.text)
        for path in ("/ui/deadletters/confirm", "/ui/deadletters/replay", "/ui/deadletters/purge"):
            answer = await web.post(path, data={"csrf": token, "action": "purge", "scope": "all"})
            assert answer.status_code == 403, path
        assert await remaining(api, sub_id) == ids
        tester = await web.post(
            f"/ui/subscriptions/{sub_id}/test-pattern",
            data={"csrf": token, "event": '{"event": "contact.created", "data": {}}'},
        )
        assert tester.status_code == 200 and "Matches" in tester.text  # testing is reading


async def test_purge_one_a_selection_and_a_subscriptions_letters(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    """Purging through the forms deletes exactly the letters chosen, after a confirmation page."""
    sub_id, ids = await dead_letters(api, "purges", 4)
    other_id, others = await dead_letters(api, "kept", 1, "OrderCreated")
    async with logged_in(server, WRITER) as web:
        token = csrf_of((await web.get("/ui/deadletters")).text)
        confirm = await web.post("/ui/deadletters/confirm", data={"csrf": token, "action": f"purge:{ids[0]}"})
        assert confirm.status_code == 200 and "Purge 1 dead letter?" in confirm.text
        assert await remaining(api, sub_id) == ids  # confirming is not acting
        done = await web.post(
            "/ui/deadletters/purge", data={"csrf": token, "scope": "ids", "id": str(ids[0])}
        )
        assert done.status_code == 303 and done.headers["location"] == "/ui/deadletters?done=purged%3A1"
        assert await remaining(api, sub_id) == ids[1:]
        selection = [("csrf", token), ("scope", "ids"), ("id", str(ids[1])), ("id", str(ids[2]))]
        done = await web.post(
            "/ui/deadletters/purge",
            content="&".join(f"{k}={v}" for k, v in selection),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert await remaining(api, sub_id) == ids[3:]
        done = await web.post(
            "/ui/deadletters/purge", data={"csrf": token, "scope": "subscription", "subscription": sub_id}
        )
        assert "purged%3A1" in done.headers["location"]
        assert await remaining(api, sub_id) == []
        assert await remaining(api, other_id) == others
        page = await web.get(done.headers["location"])
        assert "Purged 1 dead letter." in page.text


async def test_bad_action_forms_are_400_not_500(server: RunningServer) -> None:
    """Unknown actions, ids that are not numbers and empty selections get a clear 4xx page."""
    async with logged_in(server, WRITER) as web:
        token = csrf_of((await web.get("/ui/deadletters")).text)
        for path, data in (
            ("/ui/deadletters/explode", {"csrf": token, "scope": "all"}),
            ("/ui/deadletters/purge", {"csrf": token, "scope": "ids", "id": "1; DROP TABLE"}),
            ("/ui/deadletters/purge", {"csrf": token, "scope": "ids"}),
            ("/ui/deadletters/purge", {"csrf": token, "scope": "everything"}),
        ):
            answer = await web.post(path, data=data)
            assert answer.status_code == 400, (path, data, answer.text)
        wrong_media = await web.post("/ui/deadletters/purge", json={"csrf": token})
        assert wrong_media.status_code == 415


async def test_the_audit_page_gives_the_chains_verdict(server: RunningServer, api: httpx.AsyncClient) -> None:
    """Dashboard actions are audited with the client's id; an edited line is named on the page."""
    sub_id, _ = await dead_letters(api, "audited", 1)
    async with logged_in(server, WRITER) as web:
        token = csrf_of((await web.get("/ui/deadletters")).text)
        await web.post(
            "/ui/deadletters/replay", data={"csrf": token, "scope": "subscription", "subscription": sub_id}
        )
        page = await web.get("/ui/audit")
        assert "Hash chain intact: 2 lines" in page.text and "replay" in page.text
        path = server.folder / "audit.jsonl"
        path.write_text(path.read_text().replace('"operation":"create"', '"operation":"delete"'))
        broken = await web.get("/ui/audit")
        assert "Hash chain broken at line 1" in broken.text and "altered" in broken.text


async def test_pages_carry_no_secret_and_load_nothing_from_elsewhere(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    """The subscription secret and URL passwords never show; scripts and styles are the server's own."""
    created = (
        await api.post(
            SUBS,
            json={
                "name": "secretive",
                "eventType": "contact.created",
                "endpoints": [{"url": "http://user:hunter2-password@127.0.0.1:9/x"}],
            },
        )
    ).json()
    async with logged_in(server, WRITER) as web:
        for path in (
            "/ui/",
            "/ui/subscriptions",
            f"/ui/subscriptions/{created['id']}",
            "/ui/deadletters",
            "/ui/audit",
        ):
            page = await web.get(path)
            assert page.status_code == 200, path
            assert created["secret"] not in page.text and "hunter2-password" not in page.text
            assert not re.search(r'(src|href)="(https?:)?//', page.text), path
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert page.headers["x-frame-options"] == "DENY"
        htmx = await web.get("/ui/static/htmx.min.js")
        assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    spec = (await api.get("/openapi.json")).json()
    assert not [p for p in spec["paths"] if p.startswith("/ui")]
