"""Registry sync (seed 001): each subscription state change is POSTed to an external registry.

Contract:
* Body `{"subscriptionId", "state", "timestamp"}` (RFC 3339 UTC), signed like deliveries
  (`webhook-id`, `webhook-timestamp`, `webhook-signature`, `X-Genesys-Event-Signature`); the
  `webhook-id` is one UUID per notification, the same across its retries, so the registry can
  de-duplicate.
* `notify` never blocks and never raises: the POST runs in the background with its own retries
  (5xx, 429, timeouts, connection errors). A registry outage therefore never fails an apply.
* `drain` waits (up to a deadline) for what is in flight and returns every notification that could
  not be delivered, so the caller can report it. Notifications are not ordered among themselves;
  each carries its timestamp. The API's bearer token is never sent to the registry.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from ccbridge.client.api import canonical_json
from ccbridge.client.config import RegistryConfig
from ccbridge.client.identity import identity_headers
from ccbridge.client.retrying import RetryOptions, RetryTransport
from ccbridge.core.signatures import signed_headers

EVENT_SOURCE = "cxone-eventbridge"
"""The `X-Event-Source` of every registry post, as seed 001 sends it."""


@dataclass(frozen=True, slots=True)
class RegistryFailure:
    subscription_id: str
    state: str
    timestamp: str
    error: str


class RegistrySync:
    def __init__(
        self,
        config: RegistryConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryOptions | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._url = config.webhook_url
        self._secret = config.secret.get_secret_value()
        self._http = httpx.AsyncClient(
            transport=RetryTransport(transport, retry), timeout=timeout, headers=identity_headers()
        )
        self._tasks: dict[asyncio.Task[RegistryFailure | None], RegistryFailure] = {}
        self._failures: list[RegistryFailure] = []
        self.sent = 0

    def notify(self, subscription_id: str, state: str) -> None:
        """Schedules one signed POST; must be called with a running event loop."""
        stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        task = asyncio.create_task(self._send(subscription_id, state, stamp))
        self._tasks[task] = RegistryFailure(subscription_id, state, stamp, "not sent before shutdown")
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[RegistryFailure | None]) -> None:
        unsent = self._tasks.pop(task)
        failure = unsent if task.cancelled() else task.result()
        if failure is not None:
            self._failures.append(failure)

    async def _send(self, subscription_id: str, state: str, stamp: str) -> RegistryFailure | None:
        body = canonical_json({"subscriptionId": subscription_id, "state": state, "timestamp": stamp})
        headers = {"Content-Type": "application/json", "X-Event-Source": EVENT_SOURCE}
        try:
            headers |= signed_headers(self._secret, str(uuid.uuid4()), time.time(), body)
            response = await self._http.post(self._url, content=body, headers=headers)
        except Exception as exc:  # an outage is reported, never raised into an apply
            return RegistryFailure(subscription_id, state, stamp, f"{type(exc).__name__}: {exc}")
        if response.is_success:
            self.sent += 1
            return None
        return RegistryFailure(subscription_id, state, stamp, f"registry answered {response.status_code}")

    async def drain(self, grace: float | None = 30.0) -> list[RegistryFailure]:
        """Waits for pending notifications, gives up on the rest after `grace` seconds, and closes."""
        pending = list(self._tasks)
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._http.aclose()
        failures, self._failures = self._failures, []
        return failures
