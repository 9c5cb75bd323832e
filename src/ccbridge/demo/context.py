"""What every demo step shares: the server, an authenticated API client, the local consumers, the
files written before start, and the tallies the metrics step compares the server's counters with.

The consumers and files exist before the server starts because the server's config names them
(the declared subscriptions point at receivers; `ingest` and `publish` point at key and schema files).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from ccbridge.core.signatures import sign_genesys
from ccbridge.demo.report import Report
from ccbridge.ingest.testing import LegacyIssuer
from ccbridge.testing import ReceivedRequest, WebhookReceiver
from ccbridge.testing.cxone import FakeCxone
from ccbridge.testing.grpc_consumer import GrpcConsumer
from ccbridge.testing.server import RunningServer

JSON = dict[str, Any]
SUBS = "/api/v2/eventbridge/subscriptions"
EVENTS = "/api/v2/eventbridge/events"
DEADLETTERS = "/api/v2/eventbridge/deadletters"
INBOUND_SECRET = "demo-inbound-secret-7f3a9c"
#: A short pause after the expected deliveries arrived, so an unexpected extra one would show too.
QUIET = 0.3
#: Retries fast enough for a demo: 50 ms, then 100 ms, then give up.
FAST_RETRY = {"maxRetries": 2, "backoffStrategy": "exponential", "initialDelayMs": 50, "maxDelayMs": 200}
HOOKS = (
    "crm",
    "survey",
    "dlq",
    "healthy",
    "flaky",
    "broken",
    "inbound",
    "orders",
    "big",
    "legacy",
    "registry",
)
REGISTRY_SECRET = "demo-registry-secret"
CONSUMERS = ("sales-a", "sales-b")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cxone_event(event_type: str, attributes: JSON) -> JSON:
    return {"eventType": event_type, "attributes": attributes, "timestamp": now_iso()}


def genesys_event(event_type: str, data: JSON) -> JSON:
    return {"eventType": event_type, "eventTime": now_iso(), "source": "genesys-cloud", "data": data}


@dataclass
class Demo:
    """The shared state of one run. `api` carries a bearer token, `web` nothing (platform webhooks,
    legacy systems and Prometheus do not hold our tokens); `tally` counts what the demo caused."""

    srv: RunningServer
    api: httpx.AsyncClient
    web: httpx.AsyncClient
    report: Report
    hooks: dict[str, WebhookReceiver]
    consumers: dict[str, GrpcConsumer]
    issuer: LegacyIssuer
    ingest_problem: str | None = None
    tally: Counter[str] = field(default_factory=Counter)
    cxone: FakeCxone | None = None

    def check(self, what: str, expected: object, actual: object, ok: bool | None = None) -> bool:
        return self.report.check(what, expected, actual, ok)

    def note(self, text: str) -> None:
        self.report.note(text)

    async def create(self, body: JSON) -> httpx.Response:
        return await self.api.post(SUBS, json=body)

    async def publish(self, body: JSON, **headers: str) -> httpx.Response:
        """POSTs one event and tallies it as the server's `events_received` counter should."""
        response = await self.api.post(EVENTS, json=body, headers=headers)
        dialect = "genesys" if "eventTime" in body else "cxone"
        if response.status_code in (200, 201):
            self.tally[f"events:{dialect}:{'created' if response.status_code == 201 else 'duplicate'}"] += 1
        return response

    async def inbound(
        self, body: JSON, secret: str = INBOUND_SECRET, webhook_id: str | None = None
    ) -> httpx.Response:
        """A platform webhook on `POST /events`, signed the Genesys way (hex HMAC-SHA256 of the body)."""
        raw = httpx.Request("POST", "/", json=body).content
        headers = {"Content-Type": "application/json", "X-Genesys-Event-Signature": sign_genesys(secret, raw)}
        if webhook_id is not None:
            headers["webhook-id"] = webhook_id
        response = await self.web.post("/events", content=raw, headers=headers)
        if response.status_code == 200:
            self.tally["inbound:duplicate" if response.json().get("duplicate") else "inbound:stored"] += 1
        elif response.status_code in (401, 403):
            self.tally["inbound:unauthorized" if response.status_code == 401 else "inbound:forbidden"] += 1
        return response

    async def status(self, sub_id: str) -> JSON:
        return dict((await self.api.get(f"{SUBS}/{sub_id}/delivery-status")).json())

    async def status_when(self, sub_id: str, done: Callable[[JSON], bool], within: float = 5.0) -> JSON:
        """Polls delivery-status until `done` holds (or the time is up) and returns the last answer."""
        deadline = time.monotonic() + within
        while True:
            current = await self.status(sub_id)
            if done(current) or time.monotonic() > deadline:
                return current
            await asyncio.sleep(0.05)


async def arrivals(receiver: WebhookReceiver, n: int, within: float = 5.0) -> list[ReceivedRequest]:
    """What `receiver` got once `n` requests arrived (or `within` seconds passed), after a quiet pause.

    Never raises on a shortfall: the caller compares the count with what it expected."""
    with contextlib.suppress(TimeoutError):
        await receiver.wait_for(n, timeout=within)
    await asyncio.sleep(QUIET)
    return list(receiver.received)


def counts(status: JSON) -> tuple[int, int, int, int]:
    """delivery-status counts as (delivered, pending, retrying, deadLettered)."""
    c = status.get("counts", {})
    return (c.get("delivered", -1), c.get("pending", -1), c.get("retrying", -1), c.get("deadLettered", -1))


def short(identifier: object) -> str:
    """The first 8 characters of an id: enough to compare two ids in the table."""
    return str(identifier)[:8]


def signed_ok(request: ReceivedRequest) -> str:
    """Both signature schemes as one figure: 'standard ✓ genesys ✓' when each verified."""

    def mark(valid: bool | None) -> str:
        return {True: "✓", False: "✗", None: "missing"}[valid]

    return f"standard {mark(request.standard_valid)} genesys {mark(request.genesys_valid)}"
