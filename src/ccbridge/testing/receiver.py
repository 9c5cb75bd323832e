"""A real HTTP webhook receiver on loopback for tests and the demo: it records and answers as told.

    async with WebhookReceiver(secrets=[secret]) as receiver:
        receiver.behave(fail_first=2, retry_after="1")   # 503 twice (Retry-After: 1), then 200
        ...  # deliver to receiver.url
        requests = await receiver.wait_for(3, timeout=10)
        assert receiver.valid_signatures == 3

Every request (any method, any path) is recorded with its headers, exact body bytes and arrival time
before the answer is sent, so a request whose answer is delayed past the sender's timeout still shows.
Signatures are checked per scheme present (Standard Webhooks, `X-Genesys-Event-Signature`) against
`secrets` using `ccbridge.core.signatures`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from ccbridge.core import signatures
from ccbridge.errors import AuthError


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the receiver answers: the first `fail_first` requests get `fail_status`, every later one
    `status`. Non-2xx answers carry `Retry-After: <retry_after>` when set (sent verbatim, so HTTP-dates
    and junk can be tested too). Every answer is sent `delay` seconds after arrival and carries the
    extra `headers` (e.g. a `Location` for a redirect)."""

    status: int = 200
    fail_first: int = 0
    fail_status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)

    def status_for(self, n: int) -> int:
        """The status of the `n`-th request (1-based) since this behaviour was set."""
        return self.fail_status if n <= self.fail_first else self.status


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One recorded request. `received_at` is epoch seconds; `status` is what the receiver answered.

    `checked` says whether the receiver had secrets to verify with; `standard_valid` / `genesys_valid`
    are None when unchecked or that scheme's header is absent, else whether it verified."""

    method: str
    path: str
    headers: CIMultiDictProxy[str]
    body: bytes
    received_at: float
    status: int
    standard_valid: bool | None = None
    genesys_valid: bool | None = None
    checked: bool = False

    @property
    def signature_valid(self) -> bool | None:
        """None when unchecked; else True when at least one signature is present and all present verify."""
        if not self.checked:
            return None
        present = [v for v in (self.standard_valid, self.genesys_valid) if v is not None]
        return bool(present) and all(present)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return orjson.loads(self.body)


class WebhookReceiver:
    """An aiohttp server on `host`:`port` (default 127.0.0.1, a free port) recording what it receives.

    With `secrets`, each request's signatures are verified (Standard Webhooks within `tolerance` seconds)
    and counted in `valid_signatures` / `invalid_signatures` (a request without any signature counts as
    invalid); with `reject_invalid` such a request is answered 401 without consuming the behaviour.
    `in_flight` / `max_in_flight` count requests being answered at once (for connection-limit tests).
    """

    def __init__(
        self,
        behaviour: Behaviour | None = None,
        secrets: Sequence[str] = (),
        *,
        reject_invalid: bool = False,
        tolerance: float = signatures.DEFAULT_TOLERANCE,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/hook",
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        self.secrets = list(secrets)
        self.reject_invalid = reject_invalid
        self.tolerance = tolerance
        self.received: list[ReceivedRequest] = []
        self.valid_signatures = 0
        self.invalid_signatures = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._host, self._port, self._path = host, port, path
        self._served = 0  # requests answered by the current behaviour
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The URL to deliver to (`http://127.0.0.1:<port>/hook`); valid after `start()`."""
        if self._runner is None:
            raise RuntimeError("the receiver is not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}{self._path}"

    def behave(self, behaviour: Behaviour | None = None, **changes: Any) -> None:
        """Sets a new behaviour (or changes fields of the current one); `fail_first` counts from now."""
        self.behaviour = dataclasses.replace(behaviour or self.behaviour, **changes)
        self._served = 0

    def reset(self) -> None:
        """Forgets recorded requests and counters; the behaviour restarts its `fail_first` count."""
        self.received.clear()
        self.valid_signatures = self.invalid_signatures = self._served = self.max_in_flight = 0

    async def start(self) -> None:
        """Starts listening; afterwards `url` has the bound port."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._port = runner.addresses[0][1]
        self._runner = runner

    async def stop(self) -> None:
        """Stops listening and closes open connections; pending delayed answers are cancelled."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, n: int, timeout: float = 5.0) -> list[ReceivedRequest]:  # noqa: ASYNC109
        """Waits until at least `n` requests were recorded and returns all; raises TimeoutError.

        (A test helper's own deadline reads better here than making every caller wrap it.)"""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= n)
        return list(self.received)

    async def __aenter__(self) -> WebhookReceiver:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _verify(
        self, headers: CIMultiDictProxy[str], body: bytes, now: float
    ) -> tuple[bool | None, bool | None]:
        if not self.secrets:
            return None, None
        standard: bool | None = None
        if "webhook-signature" in headers:
            try:
                signatures.verify_standard(headers, body, self.secrets, now, self.tolerance)
                standard = True
            except AuthError:
                standard = False
        genesys = headers.get(signatures.GENESYS_HEADER)
        genesys_ok = None if genesys is None else signatures.verify_genesys(genesys, body, self.secrets)
        return standard, genesys_ok

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body, now = await request.read(), time.time()
        headers = CIMultiDictProxy(CIMultiDict(request.headers))
        standard, genesys = self._verify(headers, body, now)
        behaviour = self.behaviour
        checked = bool(self.secrets)
        record = ReceivedRequest(
            request.method, request.path, headers, body, now, 0, standard, genesys, checked
        )
        if checked:
            if record.signature_valid:
                self.valid_signatures += 1
            else:
                self.invalid_signatures += 1
        if self.reject_invalid and checked and not record.signature_valid:
            status = 401
        else:
            self._served += 1
            status = behaviour.status_for(self._served)
        record = dataclasses.replace(record, status=status)
        async with self._arrived:
            self.received.append(record)
            self._arrived.notify_all()
        if behaviour.delay > 0:
            await asyncio.sleep(behaviour.delay)
        text = None if status in (204, 304) else ("ok" if status < 300 else "not ok")
        answer = web.Response(status=status, text=text, headers=dict(behaviour.headers))
        if behaviour.retry_after is not None and status >= 300:
            answer.headers["Retry-After"] = behaviour.retry_after
        return answer
