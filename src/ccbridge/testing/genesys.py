"""A fake Genesys Cloud for tests and the demo: a TEST FIXTURE, not product code.

It serves, on one loopback port, what the notifications connector uses, as Genesys documents it:

- `POST /oauth/token` (the login host): client credentials with HTTP Basic, form
  `grant_type=client_credentials`, answering `{access_token, token_type, expires_in}`;
- `POST /api/v2/notifications/channels` -> `{id, connectUri, expires}` (`channel_seconds`, 24 h by
  default; at most 20 channels a
  client: creating a 21st removes the oldest, as the platform does);
- `PUT /api/v2/notifications/channels/{id}/subscriptions` with `[{"id": topic}]` (at most 1,000;
  extends the channel's life) -> `{entities: [{id}]}`;
- the channel's WebSocket at `connectUri`: topic messages `{topicName, eventBody, metadata}`,
  heartbeats (`channel.metadata` "WebSocket Heartbeat") every `heartbeat_seconds`, `pong` for a
  client's `{"message": "ping"}`, and `v2.system.socket_closing` on demand.

Every API answer carries `inin-ratelimit-allowed/-count/-reset`. API calls need an unexpired
bearer token; when a token expires (or `expire_tokens()` is called) the sockets of the channels it
created are closed, as Genesys closes them. Tests steer it: `publish`, `socket_closing`, `drop`,
`silence`, `fail_next` (e.g. a 429 with `Retry-After`, a 503), and read what happened (`requests`,
`tokens_issued`, `channels`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from ccbridge.core.times import iso

HEARTBEAT = {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}
CLOSING = {"topicName": "v2.system.socket_closing", "eventBody": {"message": "the socket will close"}}
CHANNEL_LIMIT = 20
TOPIC_LIMIT = 1000


@dataclass
class FakeChannel:
    id: str
    token: str
    created: float
    expires: float
    topics: list[str] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)


@dataclass
class Failure:
    """An answer the next matching call gets instead of its own."""

    method: str
    path_prefix: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)


class FakeGenesys:
    """`async with FakeGenesys() as gc:` then point a connector's `api_url`/`login_url` at `gc.url`."""

    def __init__(
        self,
        client_id: str = "gc-client",
        client_secret: str = "gc-secret-0123456789",
        *,
        token_seconds: int = 86400,
        heartbeat_seconds: float | None = 30.0,
        rate_allowed: int = 300,
        channel_seconds: float = 86400.0,
    ) -> None:
        self.channel_seconds = channel_seconds
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_seconds = token_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.rate_allowed = rate_allowed
        self.tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.tokens_issued = 0
        self.channels: dict[str, FakeChannel] = {}
        self.channels_created = 0
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status answered)
        self.failures: list[Failure] = []
        self.sockets_at_subscribe: list[int] = []  # open sockets when each subscription arrived
        self.silent = False
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.subscribed_event = asyncio.Event()

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    async def __aenter__(self) -> FakeGenesys:
        app = web.Application()
        app.router.add_post("/oauth/token", self._token)
        app.router.add_post("/api/v2/notifications/channels", self._create)
        app.router.add_put("/api/v2/notifications/channels/{id}/subscriptions", self._subscribe)
        app.router.add_get("/channels/{id}", self._socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._spawn(self._expire_loop())
        if self.heartbeat_seconds:
            self._spawn(self._heartbeat_loop(self.heartbeat_seconds))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in list(self._tasks):
            task.cancel()
        for channel in self.channels.values():
            for ws in list(channel.sockets):
                with contextlib.suppress(Exception):
                    await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- steering ----------------------------------------------------------------------------------

    def fail_next(self, method: str, path_prefix: str, status: int, **headers: str) -> None:
        """The next `method` call under `path_prefix` answers `status` with `headers` (queued in order)."""
        self.failures.append(
            Failure(method, path_prefix, status, {k.replace("_", "-"): v for k, v in headers.items()})
        )

    def subscribed(self, topic: str) -> int:
        """How many channels with an open socket are subscribed to `topic`."""
        return sum(1 for c in self.channels.values() if topic in c.topics and c.sockets)

    async def publish(self, topic: str, body: Any, metadata: Mapping[str, Any] | None = None) -> int:
        """Send a notification to every open socket subscribed to `topic`; returns how many got it."""
        message = {
            "topicName": topic,
            "eventBody": body,
            "metadata": dict(metadata or {"CorrelationId": "c-1"}),
        }
        return await self._send_all(message, lambda c: topic in c.topics)

    async def socket_closing(self) -> int:
        """Warn every open socket that the service is about to close it (it stays open until `drop`)."""
        return await self._send_all(CLOSING, lambda c: True)

    async def drop(self, channel_id: str | None = None) -> int:
        """Close sockets at once (every one, or `channel_id`'s), as a network drop or maintenance does."""
        dropped = 0
        for channel in list(self.channels.values()):
            if channel_id is None or channel.id == channel_id:
                for ws in list(channel.sockets):
                    await ws.close(code=1011, message=b"dropped")
                    dropped += 1
        return dropped

    def silence(self, silent: bool = True) -> None:
        """Stop (or resume) sending anything, heartbeats included, without closing: a dead socket."""
        self.silent = silent

    async def expire_tokens(self) -> None:
        """Every token expires now: API calls with them get 401, their channels' sockets close."""
        for token in self.tokens:
            self.tokens[token] = 0.0
        await self._close_expired()

    def open_sockets(self) -> int:
        return sum(len(c.sockets) for c in self.channels.values())

    # --- the API -----------------------------------------------------------------------------------

    def _answer(self, request: web.Request, status: int, body: Any = None, **headers: str) -> web.Response:
        self.requests.append((request.method, request.path, status))
        limits = {  # the fake's window never resets: it counts every call it answered
            "inin-ratelimit-allowed": str(self.rate_allowed),
            "inin-ratelimit-count": str(len(self.requests)),
            "inin-ratelimit-reset": "1",
        }
        data = b"" if body is None else orjson.dumps(body)
        return web.Response(
            status=status, body=data, content_type="application/json", headers={**limits, **headers}
        )

    def _injected(self, request: web.Request) -> web.Response | None:
        for failure in self.failures:
            if failure.method == request.method and request.path.startswith(failure.path_prefix):
                self.failures.remove(failure)
                return self._answer(
                    request, failure.status, {"message": "injected", "code": "injected"}, **failure.headers
                )
        return None

    def _bearer(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        return token if self.tokens.get(token, 0.0) > time.time() else None

    async def _token(self, request: web.Request) -> web.Response:
        if (injected := self._injected(request)) is not None:
            return injected
        form = await request.post()
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != expected or form.get("grant_type") != "client_credentials":
            return self._answer(request, 401, {"error": "invalid_client", "description": "bad credentials"})
        self.tokens_issued += 1
        token = f"gc-token-{self.tokens_issued}-{next(self._ids)}"
        self.tokens[token] = time.time() + self.token_seconds
        return self._answer(
            request, 200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_seconds}
        )

    async def _create(self, request: web.Request) -> web.Response:
        if (injected := self._injected(request)) is not None:
            return injected
        if (token := self._bearer(request)) is None:
            return self._answer(
                request, 401, {"message": "token invalid or expired", "code": "bad.credentials"}
            )
        if len(self.channels) >= CHANNEL_LIMIT:  # the platform removes the oldest channel
            oldest = min(self.channels.values(), key=lambda c: c.created)
            for ws in list(oldest.sockets):
                await ws.close()
            del self.channels[oldest.id]
        self.channels_created += 1
        channel_id = f"streaming-{self.channels_created}-{next(self._ids)}"
        now = time.time()
        self.channels[channel_id] = FakeChannel(channel_id, token, now, now + self.channel_seconds)
        connect = self.url.replace("http://", "ws://") + f"/channels/{channel_id}"
        return self._answer(
            request,
            200,
            {"id": channel_id, "connectUri": connect, "expires": iso(now + self.channel_seconds)},
        )

    async def _subscribe(self, request: web.Request) -> web.Response:
        if (injected := self._injected(request)) is not None:
            return injected
        if self._bearer(request) is None:
            return self._answer(
                request, 401, {"message": "token invalid or expired", "code": "bad.credentials"}
            )
        channel = self.channels.get(request.match_info["id"])
        if channel is None:
            return self._answer(request, 404, {"message": "no such channel", "code": "not.found"})
        body = orjson.loads(await request.read())
        if not isinstance(body, list) or not all(
            isinstance(t, dict) and isinstance(t.get("id"), str) for t in body
        ):
            return self._answer(request, 400, {"message": "a list of {id} topics", "code": "bad.request"})
        if len(body) > TOPIC_LIMIT:
            return self._answer(
                request, 400, {"message": "at most 1000 topics a channel", "code": "bad.request"}
            )
        self.sockets_at_subscribe.append(self.open_sockets())
        channel.topics = [t["id"] for t in body]
        channel.expires = time.time() + self.channel_seconds
        self.subscribed_event.set()
        return self._answer(request, 200, {"entities": [{"id": t} for t in channel.topics]})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        channel = self.channels.get(request.match_info["id"])
        if channel is None:
            return self._answer(request, 404, {"message": "no such channel", "code": "not.found"})
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        channel.sockets.append(ws)
        try:
            async for frame in ws:
                if (
                    frame.type == WSMsgType.TEXT
                    and orjson.loads(frame.data) == {"message": "ping"}
                    and not self.silent
                ):
                    await ws.send_str(
                        orjson.dumps(
                            {"topicName": "channel.metadata", "eventBody": {"message": "pong"}}
                        ).decode()
                    )
        finally:
            channel.sockets.remove(ws)
        return ws

    async def _send_all(self, message: Any, chosen: Any) -> int:
        if self.silent:
            return 0
        text = orjson.dumps(message).decode()
        sent = 0
        for channel in list(self.channels.values()):
            if chosen(channel):
                for ws in list(channel.sockets):
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await ws.send_str(text)
                        sent += 1
        return sent

    async def _heartbeat_loop(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self._send_all(HEARTBEAT, lambda c: True)

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            await self._close_expired()

    async def _close_expired(self) -> None:
        now = time.time()
        for channel in list(self.channels.values()):
            if self.tokens.get(channel.token, 0.0) <= now or channel.expires <= now:
                for ws in list(channel.sockets):
                    await ws.close(code=1000, message=b"token expired")
                self.channels.pop(channel.id, None)
