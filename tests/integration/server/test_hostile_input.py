"""Hostile input against the real server, on every route it serves: each case answers a 4xx
problem+json (the status the case names) and leaves the store exactly as it was (the row count of
every table of the SQLite file, before and after).

The routes come from the app itself, so a route added later is covered by the token cases without
editing this file: every route that is not in `PUBLIC` must refuse every bad credential with 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest
from server_payloads import CXONE_EVENT, GENESYS_EVENT, cxone_subscription

from ccbridge.bootstrap import TOKEN_KEY
from ccbridge.core import signatures
from ccbridge.core.jsonbody import MAX_DEPTH
from ccbridge.core.jsonbody import depth as depth_of
from ccbridge.ingest.testing import LegacyIssuer, orders_source
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, running_server

PROBLEM = "application/problem+json"
EVENTS = "/api/v2/eventbridge/events"
SUBS = "/api/v2/eventbridge/subscriptions"
LETTERS = "/api/v2/eventbridge/deadletters"
SECRET = "hostile-inbound-secret-1"
MAX_BODY = 16_384
ORDER = {
    "event_type": "order_created",
    "transaction_id": "tx-1",
    "amount": 1,
    "currency": "EUR",
    "timestamp": 1732442400,
}
PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/api/v2/oauth/token",
    "/oauth/token",
}
"""The routes that need no credentials; every other route must refuse a bad one with 401."""

Headers = dict[str, str]


def nested(depth: int) -> Any:
    """An object `depth` containers deep (`nested(1)` is `{}`)."""
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def nested_raw(depth: int) -> bytes:
    """`nested(depth)` as JSON text, for depths no encoder writes."""
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def sign_jwt(payload: bytes, key: bytes) -> str:
    """An HS256 JWT over raw payload bytes (so NaN and other non-standard JSON can be signed)."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(payload)
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


@dataclass(frozen=True)
class JsonRoute:
    """A route that reads a JSON body: a body it accepts, and the headers that authenticate a body."""

    name: str
    method: str
    path: str
    valid: dict[str, Any]
    auth: Callable[[bytes], Headers]


@dataclass
class Hostile:
    srv: RunningServer
    client: httpx.AsyncClient
    token: str
    key: bytes
    issuer: LegacyIssuer
    sub_id: str
    failures: list[str] = field(default_factory=list)

    @property
    def bearer(self) -> Headers:
        return {"Authorization": f"Bearer {self.token}"}

    def json_routes(self) -> list[JsonRoute]:
        def bearer(_: bytes) -> Headers:
            return self.bearer

        def signed(raw: bytes) -> Headers:
            return {"X-Genesys-Event-Signature": signatures.sign_genesys(SECRET, raw)}

        def legacy(_: bytes) -> Headers:
            return self.issuer.bearer()

        inbound = {"event": "routing:interaction:completed", "data": {"channel": "voice"}}
        return [
            JsonRoute("events (CXone)", "POST", EVENTS, CXONE_EVENT, bearer),
            JsonRoute("events (Genesys)", "POST", EVENTS, GENESYS_EVENT, bearer),
            JsonRoute("subscriptions create", "POST", SUBS, cxone_subscription(name="other"), bearer),
            JsonRoute("subscriptions replace", "PUT", f"{SUBS}/{self.sub_id}", cxone_subscription(), bearer),
            JsonRoute("dead-letter replay", "POST", LETTERS + "/replay", {"all": True}, bearer),
            JsonRoute("inbound webhook", "POST", "/events", inbound, signed),
            JsonRoute("ingest", "POST", "/ingest", ORDER, legacy),
        ]

    async def expect(
        self,
        label: str,
        statuses: set[int],
        method: str,
        path: str,
        *,
        content: bytes | Any = None,
        headers: Headers | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        """Send one request; note a failure unless it answers problem+json with one of `statuses`."""
        try:
            response = await self.client.request(
                method, path, content=content, headers=headers, params=params
            )
        except httpx.HTTPError as exc:
            self.failures.append(f"{label}: {type(exc).__name__} {exc}")
            return
        kind = response.headers.get("content-type", "")
        status_in_body = response.json().get("status") if kind == PROBLEM else None
        if response.status_code not in statuses or kind != PROBLEM or status_in_body != response.status_code:
            self.failures.append(f"{label}: {response.status_code} {kind} {response.text[:160]!r}")

    async def send_json(
        self, route: JsonRoute, label: str, statuses: set[int], raw: bytes, **extra: str
    ) -> None:
        headers = {"Content-Type": "application/json", **route.auth(raw), **extra}
        await self.expect(
            f"{route.name}: {label}", statuses, route.method, route.path, content=raw, headers=headers
        )


def table_counts(db: Path) -> dict[str, int]:
    """The row count of every table: the store is unchanged when none of them moved."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in tables}


@pytest.fixture
async def hostile(tmp_path: Path) -> AsyncIterator[Hostile]:
    """A server with every route enabled (inbound secrets, ingest) and one subscription, delivery off."""
    issuer = LegacyIssuer("ES256")
    issuer.write_pem(tmp_path / "keys" / "erp.pem")
    config = {
        "inbound": {"secrets": [SECRET]},
        "limits": {"max_body_bytes": MAX_BODY},
        "delivery": {"enabled": False},
        "ingest": {
            "max_body_bytes": MAX_BODY,
            "jwt": {
                "public_key_files": ["keys/erp.pem"],
                "issuer": "legacy-erp",
                "audience": "ccbridge",
                "algorithms": ["ES256"],
            },
            "sources": [orders_source(None)],
        },
    }
    async with running_server(config, folder=tmp_path) as srv:
        assert srv.runtime is not None
        token = await srv.token()
        key = await srv.runtime.store.secret(TOKEN_KEY)
        async with httpx.AsyncClient(base_url=srv.base_url, timeout=30) as client:
            created = await client.post(
                SUBS, json=cxone_subscription(), headers={"Authorization": f"Bearer {token}"}
            )
            assert created.status_code == 201, created.text
            yield Hostile(srv, client, token, key, issuer, created.json()["id"])


async def unchanged(hostile: Hostile, cases: Callable[[], Any]) -> None:
    """Run `cases` and hold both promises: no failure noted, and every table's row count unchanged."""
    db = hostile.srv.folder / "ccbridge.db"
    before = table_counts(db)
    await cases()
    after = table_counts(db)
    assert not hostile.failures, "\n".join(hostile.failures)
    assert after == before


async def test_hostile_json_bodies_are_refused_on_every_json_route(hostile: Hostile) -> None:
    """Nesting past the limit (up to and beyond the parser's own 1,024), invalid UTF-8, lone
    surrogates, NaN/Infinity, numbers no double holds and duplicate keys: 400 on every JSON route."""

    async def cases() -> None:
        for route in hostile.json_routes():
            valid = orjson.dumps(route.valid)
            first_key = next(iter(route.valid))
            bodies = {
                f"arrays {depth} deep": b"[" * depth + b"]" * depth
                for depth in (MAX_DEPTH + 1, 254, 255, 1024, 1025, 5000)
            }
            bodies |= {
                f"objects {depth} deep inside a valid body": b'{"deep":'
                + nested_raw(depth - 1)
                + b","
                + valid[1:]
                for depth in (MAX_DEPTH + 1, 255, 1000)
            }
            tokens = {
                "invalid UTF-8": b'"\xff\xfe"',
                "a lone high surrogate": b'"\\ud800"',
                "a lone low surrogate": b'"x\\udc00"',
                "NaN": b"NaN",
                "Infinity": b"Infinity",
                "-Infinity": b"-Infinity",
                "1e400": b"1e400",
                "a 400-digit integer": b"9" * 400,
            }
            bodies |= {name: b'{"zz":' + token + b"," + valid[1:] for name, token in tokens.items()}
            bodies["a duplicate key"] = b'{"' + first_key.encode() + b'":"other",' + valid[1:]
            bodies["a NUL byte outside strings"] = valid[:-1] + b"\x00}"
            for label, raw in bodies.items():
                await hostile.send_json(route, label, {400}, raw)

    await unchanged(hostile, cases)


async def test_attributes_too_deep_to_deliver_are_refused_not_stored(hostile: Hostile) -> None:
    """The CXone event whose `attributes` are 254 containers deep was stored but could never be
    wrapped for delivery; now it is a 400 naming `body`, as is its Genesys twin in `data`."""

    def with_deep(body: dict[str, Any], key: str, depth: int) -> bytes:
        raw = orjson.dumps({**body, key: {}})
        return raw.replace(f'"{key}":{{}}'.encode(), f'"{key}":'.encode() + nested_raw(depth))

    bodies = [
        with_deep(CXONE_EVENT, "attributes", 254),
        with_deep(GENESYS_EVENT, "data", 254),
        with_deep(CXONE_EVENT, "attributes", MAX_DEPTH),
    ]

    async def cases() -> None:
        for raw in bodies:
            headers = {**hostile.bearer, "Content-Type": "application/json"}
            response = await hostile.client.post(EVENTS, content=raw, headers=headers)
            fields = [e["field"] for e in response.json().get("errors", [])]
            if response.status_code != 400 or fields != ["body"]:
                hostile.failures.append(f"{response.status_code} {response.text[:200]}")

    await unchanged(hostile, cases)


async def test_wrong_media_types_are_415(hostile: Hostile) -> None:
    """A JSON body sent as text/plain, form data, XML, or with no Content-Type at all is 415."""

    async def cases() -> None:
        for route in hostile.json_routes():
            raw = orjson.dumps(route.valid)
            for media in ("text/plain", "application/x-www-form-urlencoded", "application/xml", "text/json"):
                label = f"{route.name}: Content-Type {media}"
                headers = {**route.auth(raw), "Content-Type": media}
                await hostile.expect(label, {415}, route.method, route.path, content=raw, headers=headers)
            label = f"{route.name}: no Content-Type"
            await hostile.expect(label, {415}, route.method, route.path, content=raw, headers=route.auth(raw))

    await unchanged(hostile, cases)


async def test_chunked_bodies_over_the_limit_are_413(hostile: Hostile) -> None:
    """A body without Content-Length (chunked) is cut off at the limit, on every JSON route."""

    async def cases() -> None:
        for route in hostile.json_routes():
            raw = b'{"pad":"' + b"x" * MAX_BODY + b'"}'

            async def chunks(raw: bytes = raw) -> AsyncIterator[bytes]:
                for start in range(0, len(raw), 4096):
                    yield raw[start : start + 4096]

            headers = {**route.auth(raw), "Content-Type": "application/json"}
            label = f"{route.name}: chunked {len(raw)} bytes"
            await hostile.expect(label, {413}, route.method, route.path, content=chunks(), headers=headers)

    await unchanged(hostile, cases)


async def test_bad_idempotency_keys_and_webhook_ids_are_400(hostile: Hostile) -> None:
    """An empty or over-long Idempotency-Key (either spelling) is 400, not ignored; so is an
    inbound `webhook-id` over the same 255-character cap, and an over-long correlation id."""

    async def cases() -> None:
        keyed = [r for r in hostile.json_routes() if r.path in (EVENTS, SUBS, "/ingest")]
        for route in keyed:
            raw = orjson.dumps(route.valid)
            for name in ("Idempotency-Key", "X-Idempotency-Key"):
                for label, value in (("empty", ""), ("256 characters", "k" * 256)):
                    await hostile.send_json(route, f"{label} {name}", {400}, raw, **{name: value})
            if route.path != SUBS:  # the routes that take events keep their correlation id
                await hostile.send_json(
                    route, "10 KB X-Correlation-Id", {400}, raw, **{"X-Correlation-Id": "c" * 10_000}
                )
        [inbound] = [r for r in hostile.json_routes() if r.path == "/events"]
        raw = orjson.dumps(inbound.valid)
        await hostile.send_json(inbound, "10 KB webhook-id", {400}, raw, **{"webhook-id": "w" * 10_000})
        await hostile.send_json(inbound, "256-character webhook-id", {400}, raw, **{"webhook-id": "w" * 256})
        await hostile.send_json(
            inbound, "10 KB X-Correlation-Id", {400}, raw, **{"X-Correlation-Id": "c" * 10_000}
        )
        now = time.time()
        long_id = "w" * 10_000
        standard = {
            "Content-Type": "application/json",
            "webhook-id": long_id,
            "webhook-timestamp": str(int(now)),
            "webhook-signature": signatures.sign_standard(SECRET, long_id, now, raw),
        }
        await hostile.expect(
            "standard-signed 10 KB webhook-id", {400}, "POST", "/events", content=raw, headers=standard
        )
        long_metadata = orjson.dumps({**inbound.valid, "metadata": {"id": "m" * 10_000}})
        await hostile.send_json(inbound, "10 KB metadata.id", {400}, long_metadata)

    await unchanged(hostile, cases)


async def test_hostile_path_and_query_parameters(hostile: Hostile) -> None:
    """Path traversal, SQL-looking and over-long ids find nothing (404); dead-letter ids past the
    store's 64-bit integers are 404 too; unreadable `limit` and `olderThanDays` values are 400."""
    sub_ids = [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        "1'%20OR%20'1'%3D'1",
        "1%3B%20DROP%20TABLE%20subscriptions%3B--",
        "x" * 10_000,
        "%00",
        "%ff%fe",
    ]
    letter_ids = [str(2**63), str(2**64), "9" * 30, "-1", str(-(2**63) - 1)]

    async def cases() -> None:
        for sub_id in sub_ids:
            one = f"{SUBS}/{sub_id}"
            body = orjson.dumps(cxone_subscription())
            json_headers = {**hostile.bearer, "Content-Type": "application/json"}
            for method, path in (("GET", one), ("DELETE", one), ("GET", one + "/delivery-status")):
                await hostile.expect(f"{method} {path[:80]}", {404}, method, path, headers=hostile.bearer)
            await hostile.expect(f"PUT {one[:80]}", {404}, "PUT", one, content=body, headers=json_headers)
        for letter_id in letter_ids:
            for method, path in (
                ("GET", f"{LETTERS}/{letter_id}"),
                ("POST", f"{LETTERS}/{letter_id}/replay"),
            ):
                await hostile.expect(f"{method} {path}", {400, 404}, method, path, headers=hostile.bearer)
        for value in ("²", "١٢", "9" * 5000, "-1", "1e3", "", "0x10", " 5"):
            label = f"GET dead letters ?limit={value[:20]}"
            await hostile.expect(
                label, {400}, "GET", LETTERS, headers=hostile.bearer, params={"limit": value}
            )
        for value in ("9" * 400, "9" * 5000, "²", "-1", "", "1.5"):
            label = f"DELETE dead letters ?olderThanDays={value[:20]}"
            params = {"olderThanDays": value}
            await hostile.expect(label, {400}, "DELETE", LETTERS, headers=hostile.bearer, params=params)

    await unchanged(hostile, cases)


def bad_credentials(key: bytes) -> dict[str, str | None]:
    """Authorization headers that must all be refused: malformed, forged, and signed with the
    server's own key but with claims it cannot honour."""
    now = int(time.time())
    claims = {"iss": "ccbridge", "sub": "test-client", "iat": now, "exp": now + 600, "scope": ""}
    scope = "eventbridge:subscriptions:read eventbridge:subscriptions:write eventbridge:events:write"
    claims["scope"] = scope

    def own(**changes: Any) -> str:
        payload = {**claims, **changes}
        return "Bearer " + jwt.encode({k: v for k, v in payload.items() if v is not None}, key, "HS256")

    def raw(payload: str) -> str:
        return "Bearer " + sign_jwt(payload.encode(), key)

    base = json.dumps({k: v for k, v in claims.items() if k != "exp"})[:-1]
    return {
        "no Authorization": None,
        "Bearer and nothing": "Bearer",
        "Basic credentials": "Basic dGVzdC1jbGllbnQ6dGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ==",
        "not a JWT": "Bearer not-a-jwt",
        "three empty segments": "Bearer ..",
        "garbage segments": "Bearer a.b.c",
        "8 KB of token": "Bearer " + "x" * 8000,
        "another key": "Bearer " + jwt.encode(claims, b"k" * 32, "HS256"),
        "alg none": "Bearer " + jwt.encode(claims, None, "none"),
        "expired": own(exp=now - 10),
        "exp a word": own(exp="soon"),
        "exp a numeric string": own(exp=str(now + 600)),
        "exp a list": own(exp=[now + 600]),
        "exp an object": own(exp={"at": now + 600}),
        "exp true": own(exp=True),
        "exp null": raw(base + ', "exp": null}'),
        "exp NaN": raw(base + ', "exp": NaN}'),
        "exp Infinity": raw(base + ', "exp": Infinity}'),
        "exp 1e999": raw(base + ', "exp": 1e999}'),
        "exp a 400-digit integer": raw(base + ', "exp": ' + "9" * 400 + "}"),
        "no exp": own(exp=None),
        "sub a list": own(sub=["test-client"]),
        "sub a number": own(sub=7),
        "sub unknown": own(sub="nobody"),
        "no sub": own(sub=None),
        "wrong issuer": own(iss="someone-else"),
        "payload not an object": raw("[1, 2]"),
        "payload not JSON": raw("{nope"),
    }


def protected_routes(srv: RunningServer) -> list[tuple[str, str]]:
    """Every (method, path) of the app's own OpenAPI document (every route is documented,
    `api.docs`) but `PUBLIC`, path parameters filled in."""
    assert srv.runtime is not None
    app: Any = srv.runtime.app
    while not hasattr(app, "openapi"):  # the framework's app behind the request ids and the fast path
        app = app.app
    found = []
    for path, operations in app.openapi()["paths"].items():
        filled = (
            path.replace("{subscription_id}", "s-1").replace("{letter_id}", "1").replace("{delivery}", "1")
        )
        found += [(method.upper(), filled) for method in operations if path not in PUBLIC]
    return found


async def test_bad_tokens_are_401_on_every_protected_route(hostile: Hostile) -> None:
    """Malformed tokens, forged ones, and tokens signed with the server's own key whose `exp` or
    `sub` is not what it must be: 401 problem+json on every route behind credentials."""
    routes = protected_routes(hostile.srv)
    assert {("POST", EVENTS), ("GET", SUBS), ("POST", "/events"), ("POST", "/ingest")} <= set(routes)

    async def cases() -> None:
        for name, authorization in bad_credentials(hostile.key).items():
            headers = {"Content-Type": "application/json"}
            if authorization is not None:
                headers["Authorization"] = authorization
            for method, path in routes:
                content = b"{}" if method in ("POST", "PUT") else None
                label = f"{method} {path}: {name}"
                await hostile.expect(label, {401}, method, path, content=content, headers=headers)

    await unchanged(hostile, cases)


async def test_json_media_types_with_parameters_are_accepted(hostile: Hostile) -> None:
    """`application/json` in any case, with a charset, and `application/*+json` all read as JSON."""
    for media in ("application/json; charset=utf-8", "Application/JSON", "application/cloudevents+json"):
        headers = {**hostile.bearer, "Content-Type": media}
        response = await hostile.client.post(EVENTS, content=orjson.dumps(CXONE_EVENT), headers=headers)
        assert response.status_code == 201, (media, response.text)


async def test_the_valid_bodies_are_accepted(hostile: Hostile) -> None:
    """The control of the cases above: each route's valid body, sent as they send it, is taken, so
    what they refuse is refused for the hostile part alone."""
    for route in hostile.json_routes():
        raw = orjson.dumps(route.valid)
        headers = {"Content-Type": "application/json", **route.auth(raw)}
        response = await hostile.client.request(route.method, route.path, content=raw, headers=headers)
        assert response.is_success, (route.name, response.text)


async def test_an_event_at_the_depth_limit_is_stored_and_delivered() -> None:
    """A body exactly `MAX_DEPTH` deep is accepted, and its data survives the wrapping for delivery."""
    data = {"deep": nested(MAX_DEPTH - 2)}  # the body adds one level, `data` holds the rest
    body = {**GENESYS_EVENT, "data": data}
    assert depth_of(body) == MAX_DEPTH
    async with running_server() as srv, WebhookReceiver() as receiver:
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            subscription = {
                "name": "deep",
                "eventTypes": [GENESYS_EVENT["eventType"]],
                "deliveryConfig": {"url": receiver.url},
            }
            assert (await api.post(SUBS, json=subscription)).status_code == 201
            response = await api.post(EVENTS, json=body)
            assert response.status_code == 201, response.text
        [delivered] = await receiver.wait_for(1)
    assert delivered.json()["data"] == data
