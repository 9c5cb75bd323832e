"""The client tests' server and the wire to it: the real app, in the test's event loop.

`running_app(folder)` builds the app with `ccbridge.bootstrap.build` on a SQLite file in `folder`
and runs its ASGI lifespan (store open, dispatcher started) around the block, as a server would.
`Wire` is the client's transport: it hands each request to the app of its host through
`httpx.ASGITransport`, records every try, and misbehaves only when a test scripts it to, as a
flaky proxy in front of the server would (an answer instead of passing the request on, or after
the app did the work; a dropped connection; a token endpoint held until released).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from pydantic import SecretStr
from starlette.types import ASGIApp, Message

from ccbridge.bootstrap import Runtime, build
from ccbridge.client import ApiConfig, BridgeClient, RetryOptions
from ccbridge.config import parse_config
from ccbridge.core.retry import RetryPolicy
from ccbridge.testing.server import merge

HOST = "bridge.test"
BASE_URL = f"http://{HOST}"
CLIENT_ID = "cli"
CLIENT_SECRET = "s3cret-value-xyz"
SETTINGS = ApiConfig(base_url=BASE_URL, client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET))

ORDER: dict[str, Any] = {
    "orderId": "ORD-1234567890",
    "customerId": "CUST-998877",
    "totalAmount": 150.75,
    "currency": "USD",
    "timestamp": "2024-05-01T12:00:00Z",
}
"""Seed 004's OrderCreated data, valid against data/order_created.schema.json."""


def config_document(folder: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A server with one client (all scopes), its store in `folder`, no dispatcher unless enabled."""
    base = {
        "store": {"url": f"sqlite:///{folder / 'ccbridge.db'}"},
        "auth": {"clients": [{"id": CLIENT_ID, "secret": CLIENT_SECRET}]},
        "delivery": {"enabled": False, "allowed_networks": ["127.0.0.0/8"], "poll_interval_ms": 20},
        "logging": {"level": "warning"},
    }
    return merge(base, overrides or {})


async def _next_message(outbox: asyncio.Queue[Message], task: asyncio.Task[None]) -> Message:
    getter = asyncio.ensure_future(outbox.get())
    done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
    if getter in done:
        return getter.result()
    getter.cancel()
    task.result()
    raise RuntimeError("the app ended its lifespan without answering")


@contextlib.asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """The ASGI lifespan protocol as a server drives it: startup before the block, shutdown after."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await _next_message(outbox, task)
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started.get('message', started['type'])}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await _next_message(outbox, task)
        await task


@contextlib.asynccontextmanager
async def running_app(folder: Path, overrides: dict[str, Any] | None = None) -> AsyncIterator[Runtime]:
    """The real app, built from config on a SQLite file in `folder` (which must exist), started and
    stopped around the block."""
    runtime = build(parse_config(config_document(folder, overrides), base_dir=str(folder)))
    async with lifespan(runtime.app):
        yield runtime


@dataclass(frozen=True, slots=True)
class Fault:
    """What a flaky proxy does to one try: answer `status` (with `Retry-After: retry_after`) instead
    of passing the request on or, with `after`, pass it on and lose the app's answer."""

    status: int
    retry_after: str | None = None
    after: bool = False


Step = Fault | type[httpx.TransportError]


@dataclass
class Wire(httpx.AsyncBaseTransport):
    """The client's transport: each request goes to the app of its host; every try is recorded as it
    left (`tries`, `token_tries`)."""

    apps: dict[str, ASGIApp]
    tries: list[httpx.Request] = field(default_factory=list)
    token_tries: list[httpx.Request] = field(default_factory=list)
    _script: list[Step] = field(default_factory=list)
    _token_script: list[Step] = field(default_factory=list)
    _token_gate: asyncio.Event | None = None
    token_arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def fail_next(self, *steps: Step, token: bool = False) -> None:
        """The next API tries (or token tries) meet these faults, one each, in order."""
        (self._token_script if token else self._script).extend(steps)

    def hold_tokens(self) -> asyncio.Event:
        """Token requests wait (`token_arrived` is set when one does) until the returned event is set."""
        self._token_gate = asyncio.Event()
        return self._token_gate

    def writes(self) -> list[httpx.Request]:
        return [r for r in self.tries if r.method in ("POST", "PUT", "DELETE")]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        token = request.url.path.endswith("/oauth/token")
        # a copy: a resend is the same Request object, its headers changed in place (a renewed token)
        seen = httpx.Request(
            request.method, request.url, headers=request.headers.copy(), content=request.content
        )
        (self.token_tries if token else self.tries).append(seen)
        if token and self._token_gate is not None:
            self.token_arrived.set()
            await self._token_gate.wait()
        script = self._token_script if token else self._script
        step = script.pop(0) if script else None
        if isinstance(step, type):
            raise step("injected by the test's wire", request=request)
        if step is not None and not step.after:
            return _answer(step)
        response = await httpx.ASGITransport(app=self.apps[request.url.host]).handle_async_request(request)
        if step is not None:
            await response.aclose()
            return _answer(step)
        return response


def _answer(fault: Fault) -> httpx.Response:
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    return httpx.Response(fault.status, json={"title": "injected by the test's wire"}, headers=headers)


class Sleeps:
    """Records the delays a retry layer or poller asked for, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@dataclass
class Bridge:
    """One running app, the wire to it, and clients of it."""

    runtime: Runtime
    wire: Wire
    folder: Path

    def client(
        self,
        sleeps: Callable[[float], Awaitable[None]] | None = None,
        *,
        settings: ApiConfig = SETTINGS,
        max_retries: int = 4,
        **options: Any,
    ) -> BridgeClient:
        """A client on the wire: capped exponential retries from 0.2 s that record instead of sleeping."""
        policy = RetryPolicy(max_retries, "exponential", 0.2, 5.0)
        retry = RetryOptions(policy=policy, sleep=sleeps or Sleeps(), **options)
        return BridgeClient(settings, transport=self.wire, retry=retry)

    def stored_events(self) -> int:
        with contextlib.closing(sqlite3.connect(self.folder / "ccbridge.db")) as db:
            return int(db.execute("SELECT count(*) FROM events").fetchone()[0])


class HeldConsumer:
    """A webhook consumer on loopback (aiohttp) that holds every delivery until `release()`, then
    answers 204: a delivery stays in flight, so pending, for exactly as long as a test wants."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def release(self) -> None:
        self._released.set()

    async def _hold(self, request: web.Request) -> web.Response:
        await request.read()
        self.arrived.set()
        await self._released.wait()
        return web.Response(status=204)

    async def __aenter__(self) -> HeldConsumer:
        app = web.Application()
        app.router.add_post("/hook", self._hold)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
