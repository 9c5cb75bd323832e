"""Fault injection for tests and the demo: answer a share of API requests with 429 or 503.

"before" faults never reach the app; "after" faults let the app do the work and then lose the
answer, which is what makes client-side idempotency keys necessary. Only the testing server
(`ccbridge.testing.server.running_server`) wraps its app in this, when its config has `faults.rate > 0`;
`ccbridge serve` ignores the `faults:` section, so no production process can lose answers on purpose.
"""

from __future__ import annotations

import random

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccbridge.config import FaultsConfig

_EXEMPT = ("/healthz", "/readyz", "/metrics", "/openapi.json")


class FaultInjector:
    """ASGI middleware around the whole app; `injected` counts the answers it replaced."""

    def __init__(self, app: ASGIApp, config: FaultsConfig) -> None:
        self.app = app
        self.config = config
        self.random = random.Random(config.seed)
        self.injected = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _EXEMPT or self.random.random() >= self.config.rate:
            await self.app(scope, receive, send)
            return
        when = self.config.when if self.config.when != "both" else self.random.choice(["before", "after"])
        status = self.random.choice(self.config.statuses)
        self.injected += 1
        if when == "after":

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
        await self._answer(send, status)

    async def _answer(self, send: Send, status: int) -> None:
        body = orjson.dumps({"type": "about:blank", "title": "injected fault", "status": status})
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if status in (429, 503):
            headers.append((b"retry-after", f"{self.config.retry_after:g}".encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
