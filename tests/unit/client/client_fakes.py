"""An in-memory server of the EventBridge API for client unit tests, served via httpx.MockTransport.

It keeps what the client contract depends on: tokens, subscriptions echoed as sent (plus id, state,
dates, secret), 409 with existingId on a duplicate name, idempotency by (method, path, key) with
the stored answer replayed, event de-duplication (201 new, 200 original), delivery-status, and a
script of faults (`fail_next`) answered before or after the work is done.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from ccbridge.client import ApiConfig, BridgeClient, RetryOptions
from ccbridge.core.retry import RetryPolicy

BASE = "/api/v2/eventbridge/subscriptions"


@dataclass
class Fault:
    status: int
    retry_after: str | None = None
    after: bool = False  # do the work, then lose the answer


@dataclass
class FakeApi:
    expires_in: int = 3600
    token_delay: float = 0.0
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[tuple[str, str, str], tuple[str, int, Any]] = field(default_factory=dict)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    token_requests: list[httpx.Request] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    seen: list[dict[str, str]] = field(default_factory=list)  # headers as each try carried them
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fail_next(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def writes(self) -> list[httpx.Request]:
        return [
            r for r in self.requests if r.method in ("POST", "PUT", "DELETE") and "oauth" not in r.url.path
        ]

    def add(self, body: dict[str, Any], sub_id: str | None = None) -> dict[str, Any]:
        sub_id = sub_id or str(uuid.uuid4())
        stamp = f"2024-01-01T00:00:{next(self._counter):02d}Z"
        resource = {"id": sub_id, **body, "state": "active", "createdDate": stamp, "updatedDate": stamp}
        self.subscriptions[sub_id] = resource
        return resource

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            return await self._token(request)
        self.requests.append(request)
        self.seen.append(dict(request.headers))
        fault = self.faults.pop(0) if self.faults else None
        if fault is not None and not fault.after:
            return _fault(fault)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid_tokens:
            return _json(401, {"title": "unauthorized"})
        response = self._route(request)
        return _fault(fault) if fault is not None else response

    async def _token(self, request: httpx.Request) -> httpx.Response:
        self.token_requests.append(request)
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        token = f"tok-{len(self.token_requests)}"
        self.valid_tokens.add(token)
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in})

    def _route(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        body = orjson.loads(request.content) if request.content else None
        key = request.headers.get("Idempotency-Key") or request.headers.get("X-Idempotency-Key")
        scope = (method, path, key or "")
        if key and scope in self.idempotent and path != "/api/v2/eventbridge/events":
            digest, status, answer = self.idempotent[scope]
            if digest != hashlib.sha256(request.content).hexdigest():
                return _json(422, {"title": "idempotency key reused"})
            return _json(status, answer)
        status, answer = self._dispatch(request, body)
        if key and status < 400:
            self.idempotent[scope] = (hashlib.sha256(request.content).hexdigest(), status, answer)
        return _json(status, answer) if answer is not None else httpx.Response(status)

    def _dispatch(self, request: httpx.Request, body: Any) -> tuple[int, Any]:
        path, method = request.url.path, request.method
        if path == "/api/v2/eventbridge/events":
            return self._event(request, body)
        if path == BASE and method == "GET":
            return 200, {"entities": list(self.subscriptions.values()), "total": len(self.subscriptions)}
        if path == BASE and method == "POST":
            clash = [s for s in self.subscriptions.values() if s["name"] == body["name"]]
            if clash:
                return 409, {"title": "conflict", "status": 409, "existingId": clash[0]["id"]}
            return 201, {**self.add(body), "secret": "whsec_not-for-logs"}
        sub_id = path.removeprefix(BASE + "/").removesuffix("/delivery-status")
        if sub_id not in self.subscriptions:
            return 404, {"title": "not found", "status": 404}
        if path.endswith("/delivery-status"):
            return 200, self.statuses.get(sub_id, {"subscriptionId": sub_id, "state": "active", "counts": {}})
        if method == "GET":
            return 200, self.subscriptions[sub_id]
        if method == "DELETE":
            del self.subscriptions[sub_id]
            return 204, None
        old = self.subscriptions[sub_id]
        stamp = f"2024-01-02T00:00:{next(self._counter):02d}Z"
        self.subscriptions[sub_id] = {
            "id": sub_id,
            **body,
            "state": "active",
            "createdDate": old["createdDate"],
            "updatedDate": stamp,
        }
        return 200, self.subscriptions[sub_id]

    def _event(self, request: httpx.Request, body: Any) -> tuple[int, Any]:
        key = request.headers.get("X-Idempotency-Key") or ""
        if key in self.events:
            return 200, self.events[key]
        answer = {
            "id": str(uuid.uuid4()),
            "eventType": body["eventType"],
            "idempotencyKey": key,
            "correlationId": request.headers.get("X-Correlation-Id"),
            "receivedAt": "now",
        }
        self.events[key] = answer
        return 201, answer


def _json(status: int, body: Any) -> httpx.Response:
    kind = "application/problem+json" if status >= 400 else "application/json"
    return httpx.Response(status, content=orjson.dumps(body), headers={"Content-Type": kind})


def _fault(fault: Fault) -> httpx.Response:
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    return httpx.Response(fault.status, json={"title": "injected"}, headers=headers)


class Sleeps:
    """Records the delays a retry layer asked for, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


SETTINGS = ApiConfig(
    base_url="http://bridge.test", client_id="cli", client_secret=SecretStr("s3cret-value-xyz")
)


def make_client(
    fake: FakeApi,
    sleeps: Sleeps | None = None,
    settings: ApiConfig = SETTINGS,
    max_retries: int = 4,
    **options: Any,
) -> BridgeClient:
    retry = RetryOptions(
        policy=RetryPolicy(max_retries, "exponential", 0.2, 5.0), sleep=sleeps or Sleeps(), **options
    )
    return BridgeClient(settings, transport=httpx.MockTransport(fake.handler), retry=retry)
