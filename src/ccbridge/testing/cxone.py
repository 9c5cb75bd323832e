"""A fake NICE CXone tenant on loopback, for tests and the demo: a test fixture, not product code.

Written from NICE's documented protocol (see `ccbridge.connectors.cxone`): the password-grant token
endpoint with HTTP Basic client credentials and a JWT id token carrying `tenantId`; the discovery
document with `api_endpoint`; agent sessions joined with `asAgentId`, long-polled with
`get-next-event?timeout=N` (304 when nothing arrives in time, 200 `{sessionId, events}` with the
session id for the next poll); and the Signal API. How the fake models what NICE leaves open:

  * The session id of a 200 answer is a cursor: the events of an answer count as read only when the
    next poll uses the answer's session id. A poll with the previous id (the client never got the
    answer, e.g. the connection dropped) is answered with the same events and the same next id.
    Any other id is unknown: 404.
  * Tokens expire by the fake's clock (`clock`, shared with the client in tests) and can be revoked
    early (`revoke_tokens`), which answers 401 as an expired token does.

    async with FakeCxone() as cx:
        cx.login("agent-1")
        cx.push("agent-1", {"Type": "AgentState", "CurrentState": "Available"})
        cx.fail("get-next-event", 503, times=2)        # then 503 twice
        cx.drop("get-next-event", after_answer=True)   # the next answer is lost on the wire
        ... cx.signals  # [(contactId, {"p1": ...}), ...]
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import jwt
from aiohttp import web

from ccbridge.core.ports import Clock
from ccbridge.core.times import SystemClock

API = "/incontactapi/services/v30.0"
ID_TOKEN_KEY = "fake-cxone-id-token-key-0123456789abcdef"


@dataclass
class _Session:
    agent: str
    current: str  # the id the next poll should use
    previous: str | None = None  # the id answered with `last` (re-answered if polled again)
    last: list[Any] = field(default_factory=list)
    ended: bool = False


@dataclass
class _Fault:
    status: int | None  # None: drop the connection
    retry_after: str | None = None
    after_answer: bool = False  # a drop after the answer was prepared (its events count as sent)


class FakeCxone:
    """The tenant's auth host and API host in one aiohttp server (`url` is both)."""

    def __init__(
        self,
        *,
        access_key_id: str = "cx-key",
        access_key_secret: str = "cx-key-secret",
        client_id: str = "cx-app",
        client_secret: str = "cx-app-secret",
        tenant_id: str = "tenant-1",
        token_lifetime: int = 3600,
        clock: Clock | None = None,
        max_hold: float = 5.0,
    ) -> None:
        self.credentials = (access_key_id, access_key_secret)
        self.client = (client_id, client_secret)
        self.tenant_id = tenant_id
        self.token_lifetime = token_lifetime
        self.clock = clock or SystemClock()
        self.max_hold = max_hold
        self.tokens: dict[str, float] = {}  # token -> expiry
        self.token_grants = 0
        self.logged_in: set[str] = set()
        self.queues: dict[str, deque[Any]] = {}
        self.sessions: dict[str, _Session] = {}  # by agent
        self.contacts: set[str] = set()
        self.signals: list[tuple[str, dict[str, str]]] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.joins: list[dict[str, Any]] = []  # what each join named: {"body": ..., "query": ...}
        self.unauthorized = 0  # API calls answered 401
        self.reanswered = 0  # polls with the previous session id, answered with the same events again
        self._faults: dict[str, deque[_Fault]] = {}
        self._arrived = asyncio.Event()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.url = ""

    # --- the test's controls ---------------------------------------------------------------------

    def login(self, agent: str) -> None:
        """The agent has a session that can be joined."""
        self.logged_in.add(agent)
        self.queues.setdefault(agent, deque())

    def logout(self, agent: str) -> None:
        """The agent's session ends: its next poll gets `AgentSessionEnd`, later joins are refused."""
        self.logged_in.discard(agent)
        self.push(agent, {"Type": "AgentSessionEnd"})

    def end_session(self, agent: str) -> None:
        """The session id stops being valid at once (the platform dropped it): polls answer 404."""
        session = self.sessions.pop(agent, None)
        if session is not None:
            session.ended = True
            self._arrived.set()

    def push(self, agent: str, *events: Any) -> None:
        self.queues.setdefault(agent, deque()).extend(events)
        self._arrived.set()

    def fail(self, route: str, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        """The next `times` requests to `route` (token, discovery, join, get-next-event, signal) get `status`."""
        self._faults.setdefault(route, deque()).extend(_Fault(status, retry_after) for _ in range(times))

    def drop(self, route: str, *, times: int = 1, after_answer: bool = False) -> None:
        """The next `times` requests to `route` have their connection closed without an answer; with
        `after_answer` the answer is prepared first (a poll's events count as sent, then are lost)."""
        faults = self._faults.setdefault(route, deque())
        faults.extend(_Fault(None, after_answer=after_answer) for _ in range(times))

    def revoke_tokens(self) -> None:
        """Every token issued so far answers 401 from now on (an expiry earlier than announced)."""
        self.tokens.clear()

    # --- the server ------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeCxone:
        app = web.Application()
        app.router.add_post("/auth/token", self._token)
        app.router.add_get("/.well-known/cxone-configuration", self._discovery)
        app.router.add_post(API + "/agent-sessions/join", self._join)
        app.router.add_get(API + "/agent-sessions/{session}/get-next-event", self._next_event)
        app.router.add_post(API + "/interactions/{contact}/signal", self._signal)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing = True
        self._arrived.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _fault(self, route: str) -> _Fault | None:
        faults = self._faults.get(route)
        return faults.popleft() if faults else None

    @staticmethod
    def _faulted(request: web.Request, fault: _Fault) -> web.Response:
        if fault.status is None:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return web.json_response({"error": "injected"}, status=fault.status, headers=headers)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        expiry = self.tokens.get(token)
        ok = header.startswith("Bearer ") and expiry is not None and self.clock.now() < expiry
        if not ok:
            self.unauthorized += 1
        return ok

    async def _token(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        if (fault := self._fault("token")) is not None:
            return self._faulted(request, fault)
        form = await request.post()
        basic = request.headers.get("Authorization", "").removeprefix("Basic ")
        try:
            client = tuple(base64.b64decode(basic).decode().split(":", 1))
        except ValueError:
            client = ()
        if client != self.client:
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "password" or (form.get("username"), form.get("password")) != (
            self.credentials
        ):
            return web.json_response({"error": "invalid_grant"}, status=400)
        self.token_grants += 1
        token = f"at-{next(self._ids)}"
        self.tokens[token] = self.clock.now() + self.token_lifetime
        claims = {"iss": self.url, "tenantId": self.tenant_id, "iat": int(time.time())}
        return web.json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "id_token": jwt.encode(claims, ID_TOKEN_KEY, algorithm="HS256"),
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            }
        )

    async def _discovery(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        if (fault := self._fault("discovery")) is not None:
            return self._faulted(request, fault)
        if request.query.get("tenantId") != self.tenant_id:
            return web.json_response({"error": "unknown tenant"}, status=404)
        return web.json_response(
            {"tenantId": self.tenant_id, "area": "na1", "api_endpoint": self.url, "ui_endpoint": self.url}
        )

    async def _join(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        if (fault := self._fault("join")) is not None:
            return self._faulted(request, fault)
        if not self._authorized(request):
            return web.json_response({"error": "invalid token"}, status=401)
        body = await request.json() if request.can_read_body else {}
        self.joins.append({"body": body, "query": dict(request.query)})
        agent = str(body.get("asAgentId") or request.query.get("asAgentId") or "")
        if agent not in self.logged_in:
            return web.json_response({"error": "the agent is not logged in"}, status=409)
        session = _Session(agent, f"s-{agent}-{next(self._ids)}")
        self.sessions[agent] = session
        return web.json_response({"sessionId": session.current}, status=202)

    async def _next_event(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        fault = self._fault("get-next-event")
        if fault is not None and not fault.after_answer:
            return self._faulted(request, fault)
        if not self._authorized(request):
            return web.json_response({"error": "invalid token"}, status=401)
        given = request.match_info["session"]
        session = next((s for s in self.sessions.values() if given in (s.current, s.previous)), None)
        if session is None:
            return web.json_response({"error": "invalid session"}, status=404)
        if given == session.previous:  # the last answer never arrived: answer it again
            self.reanswered += 1
            answer = web.json_response({"sessionId": session.current, "events": session.last})
        else:
            answer = await self._wait_for_events(session, request)
        if fault is not None:
            return self._faulted(request, fault)
        return answer

    async def _wait_for_events(self, session: _Session, request: web.Request) -> web.Response:
        try:
            hold = min(float(request.query.get("timeout", "0")), 60.0, self.max_hold)
        except ValueError:
            return web.json_response({"error": "timeout must be a number"}, status=400)
        queue = self.queues.setdefault(session.agent, deque())
        deadline = asyncio.get_running_loop().time() + hold
        while not queue and not session.ended and not self._closing:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return web.Response(status=304)
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return web.Response(status=304)
        if session.ended:
            return web.json_response({"error": "invalid session"}, status=404)
        if not queue:
            return web.Response(status=304)
        events = list(queue)
        queue.clear()
        session.previous, session.current = session.current, f"s-{session.agent}-{next(self._ids)}"
        session.last = events
        return web.json_response({"sessionId": session.current, "events": events})

    async def _signal(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        if (fault := self._fault("signal")) is not None:
            return self._faulted(request, fault)
        if not self._authorized(request):
            return web.json_response({"error": "invalid token"}, status=401)
        contact = request.match_info["contact"]
        if contact not in self.contacts:
            return web.json_response({"error": "contact not found"}, status=404)
        self.signals.append((contact, dict(request.query)))
        return web.Response(status=202)
