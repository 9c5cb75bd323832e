"""`BridgeClient`: typed async calls of the EventBridge API, for any server that speaks it.

Contract:
* One logical operation = one `httpx.Request`, built once: retries (`RetryTransport`) and the
  401 renewal (`ClientCredentialsAuth`) resend that same request, so every write's
  `Idempotency-Key` (given, or a fresh UUID) and its `X-Correlation-Id` stay the same across tries.
* The correlation id is the argument, else the one set with `correlation(...)` for the current
  task, else a fresh UUID per operation.
* A non-2xx answer, after the retries, raises the typed error of `ccbridge.client.errors`.
* Safe to use from many tasks at once; close it (or use `async with`) to release connections.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from ccbridge.client.auth import ClientCredentialsAuth
from ccbridge.client.config import ApiConfig
from ccbridge.client.errors import error_from_response, transport_error
from ccbridge.client.retrying import RETRY_AFTER, RetryOptions, RetryTransport

SUBSCRIPTIONS = "/api/v2/eventbridge/subscriptions"
EVENTS = "/api/v2/eventbridge/events"
DEADLETTERS = "/api/v2/eventbridge/deadletters"
DELIVERIES = "/api/v2/eventbridge/deliveries"
REPLAYS = "/api/v2/eventbridge/replays"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ccbridge_correlation", default=None
)


@contextlib.contextmanager
def correlation(correlation_id: str) -> Iterator[str]:
    """Every call made inside (in this task and tasks it starts) carries `correlation_id`."""
    token = _correlation.set(correlation_id)
    try:
        yield correlation_id
    finally:
        _correlation.reset(token)


def current_correlation() -> str | None:
    """The correlation id set by `correlation(...)` for this task, if any."""
    return _correlation.get()


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful write: the body, and the ids that tie it to the server's logs and the audit log."""

    status: int
    body: Any
    idempotency_key: str | None
    correlation_id: str
    request_id: str | None


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes idempotency keys (seed 001) are computed over."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _parse(content: bytes) -> Any:
    try:
        return orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        return None


class BridgeClient:
    def __init__(
        self,
        settings: ApiConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryOptions | None = None,
    ) -> None:
        self.settings = settings
        self._transport = RetryTransport(transport, retry)
        self.auth = ClientCredentialsAuth(
            settings.resolved_token_url,
            settings.client_id,
            settings.client_secret.get_secret_value(),
            self._transport,
            scopes=settings.scopes,
            style=settings.auth_style,
            timeout=settings.timeout,
        )
        self._http = httpx.AsyncClient(
            base_url=settings.base_url, auth=self.auth, transport=self._transport, timeout=settings.timeout
        )

    @property
    def client_id(self) -> str:
        """Who this client acts as: the audit log's `actor`."""
        return self.settings.client_id

    async def __aenter__(self) -> BridgeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        idempotency_header: str = "Idempotency-Key",
        correlation_id: str | None = None,
    ) -> Reply:
        """One logical operation with its retries; raises the typed error of a non-2xx answer."""
        cid = correlation_id or _correlation.get() or str(uuid.uuid4())
        headers = {"X-Correlation-Id": cid, "Accept": "application/json"}
        key = idempotency_key or (str(uuid.uuid4()) if method in WRITES else None)
        if key is not None:
            headers[idempotency_header] = key
        content = None
        if body is not None:
            content = canonical_json(body)
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(method, path, content=content, params=params, headers=headers)
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            raise transport_error(exc, request) from None
        if response.is_error:
            raise error_from_response(response, response.extensions.get(RETRY_AFTER))
        request_id = response.headers.get("X-Request-Id")
        return Reply(response.status_code, _parse(response.content), key, cid, request_id)

    async def token(self) -> str:
        """A current access token (cached; renewed before it expires)."""
        return await self.auth.token()

    # --- subscriptions --------------------------------------------------------------------------

    async def list_subscriptions(self) -> list[dict[str, Any]]:
        body = (await self.call("GET", SUBSCRIPTIONS)).body
        return list(body.get("entities", [])) if isinstance(body, dict) else list(body or [])

    async def get_subscription(self, subscription_id: str) -> dict[str, Any]:
        return dict((await self.call("GET", f"{SUBSCRIPTIONS}/{subscription_id}")).body)

    async def create_subscription(
        self, payload: dict[str, Any], *, idempotency_key: str | None = None
    ) -> Reply:
        """201 with the resource, whose `secret` only this answer carries; 409 -> ApiConflictError."""
        return await self.call("POST", SUBSCRIPTIONS, body=payload, idempotency_key=idempotency_key)

    async def update_subscription(
        self, subscription_id: str, payload: dict[str, Any], *, idempotency_key: str | None = None
    ) -> Reply:
        """A full replacement in either dialect."""
        path = f"{SUBSCRIPTIONS}/{subscription_id}"
        return await self.call("PUT", path, body=payload, idempotency_key=idempotency_key)

    async def delete_subscription(self, subscription_id: str, *, idempotency_key: str | None = None) -> Reply:
        path = f"{SUBSCRIPTIONS}/{subscription_id}"
        return await self.call("DELETE", path, idempotency_key=idempotency_key)

    async def delivery_status(self, subscription_id: str) -> dict[str, Any]:
        """`{subscriptionId, state, lastDeliveryError, lastDeliveryAt, counts{...}}`."""
        return dict((await self.call("GET", f"{SUBSCRIPTIONS}/{subscription_id}/delivery-status")).body)

    # --- events -----------------------------------------------------------------------------------

    async def publish_event(
        self, event: dict[str, Any], *, idempotency_key: str, correlation_id: str | None = None
    ) -> Reply:
        """201 for a new event; 200 with the original event's body for a key seen within 24 h."""
        return await self.call(
            "POST",
            EVENTS,
            body=event,
            idempotency_key=idempotency_key,
            idempotency_header="X-Idempotency-Key",
            correlation_id=correlation_id,
        )

    # --- dead letters -----------------------------------------------------------------------------

    async def list_dead_letters(
        self, subscription_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if subscription_id:
            params["subscriptionId"] = subscription_id
        body = (await self.call("GET", DEADLETTERS, params=params)).body
        return list(body.get("entities", [])) if isinstance(body, dict) else []

    async def get_dead_letter(self, dead_letter_id: str | int) -> dict[str, Any]:
        return dict((await self.call("GET", f"{DEADLETTERS}/{dead_letter_id}")).body)

    async def replay_dead_letter(self, dead_letter_id: str | int) -> Reply:
        return await self.call("POST", f"{DEADLETTERS}/{dead_letter_id}/replay")

    async def replay_dead_letters(self, subscription_id: str | None = None) -> int:
        """Replays one subscription's dead letters, or all of them when `subscription_id` is None."""
        body = {"subscriptionId": subscription_id} if subscription_id else {"all": True}
        reply = await self.call("POST", f"{DEADLETTERS}/replay", body=body)
        return int(reply.body.get("replayed", 0)) if isinstance(reply.body, dict) else 0

    async def purge_dead_letters(self, older_than_days: int) -> int:
        reply = await self.call("DELETE", DEADLETTERS, params={"olderThanDays": older_than_days})
        return int(reply.body.get("purged", 0)) if isinstance(reply.body, dict) else 0

    # --- events, deliveries, attempts and replay jobs ---------------------------------------------

    async def search_events(self, **params: Any) -> dict[str, Any]:
        """`{items, nextCursor}`: filters `type`, `from`, `to` (RFC 3339), `subscription`, `limit`, `cursor`."""
        query = {k: v for k, v in params.items() if v is not None}
        return dict((await self.call("GET", EVENTS, params=query)).body)

    async def get_event(self, event_id: str) -> dict[str, Any]:
        """The stored event with its `deliveries`."""
        return dict((await self.call("GET", f"{EVENTS}/{event_id}")).body)

    async def list_deliveries(self, subscription_id: str, **params: Any) -> dict[str, Any]:
        """`{items, nextCursor}` of one subscription: filters `status`, `from`, `to`, `limit`, `cursor`."""
        query = {k: v for k, v in params.items() if v is not None}
        return dict(
            (await self.call("GET", f"{SUBSCRIPTIONS}/{subscription_id}/deliveries", params=query)).body
        )

    async def delivery_attempts(self, delivery_id: int) -> list[dict[str, Any]]:
        body = (await self.call("GET", f"{DELIVERIES}/{delivery_id}/attempts")).body
        return list(body.get("items", [])) if isinstance(body, dict) else []

    async def retry_delivery(self, delivery_id: int) -> dict[str, Any]:
        """The delivery, queued again (409 -> ApiConflictError when it is pending already)."""
        return dict((await self.call("POST", f"{DELIVERIES}/{delivery_id}/retry")).body)

    async def start_replay(
        self, request: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """The replay job (`{id, state, progress, counts, ...}`) for `{from, to, subscriptionIds?, pattern?, dryRun?}`."""
        return dict((await self.call("POST", REPLAYS, body=request, idempotency_key=idempotency_key)).body)

    async def get_replay(self, job_id: str) -> dict[str, Any]:
        return dict((await self.call("GET", f"{REPLAYS}/{job_id}")).body)

    # --- endpoint health, secret rotation, test events ----------------------------------------------

    async def list_endpoints(self, subscription_id: str) -> list[dict[str, Any]]:
        """The subscription's endpoints with their breaker state (index, url, state, ...)."""
        body = (await self.call("GET", f"{SUBSCRIPTIONS}/{subscription_id}/endpoints")).body
        return list(body.get("entities", [])) if isinstance(body, dict) else []

    async def set_endpoint_enabled(self, subscription_id: str, index: int, enabled: bool) -> dict[str, Any]:
        action = "enable" if enabled else "disable"
        reply = await self.call("POST", f"{SUBSCRIPTIONS}/{subscription_id}/endpoints/{index}/{action}")
        return dict(reply.body)

    async def rotate_secret(
        self, subscription_id: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """A new signing secret (answered once); the old one signs too during the grace period."""
        path = f"{SUBSCRIPTIONS}/{subscription_id}/secret/rotate"
        return dict((await self.call("POST", path, idempotency_key=idempotency_key)).body)

    async def send_test_event(self, subscription_id: str) -> dict[str, Any]:
        """Store a `ccbridge.test` event for the subscription's endpoints; answers its id."""
        return dict((await self.call("POST", f"{SUBSCRIPTIONS}/{subscription_id}/test")).body)
