"""A subscription's endpoints in operation: their health, enabling and disabling them, rotating the
subscription's signing secret and sending it a test event.

* `GET .../subscriptions/{id}/endpoints` — each endpoint (by its 0-based `index` in the
  subscription) with its breaker state (`core.endpoint_health`).
* `POST .../subscriptions/{id}/endpoints/{index}/enable|disable` — an operator's switch; enabling
  closes the breaker with its counts reset. A disabled endpoint's deliveries become dead letters,
  replayable once it is enabled again.
* `POST .../subscriptions/{id}/secret/rotate` — a new `whsec_` secret, answered once; deliveries
  are signed with both secrets for `delivery.secret_grace_seconds`. `Idempotency-Key` answers a
  repeat with the same secret rather than rotating twice.
* `POST .../subscriptions/{id}/test` — a `ccbridge.test` event stored (202 once committed) and
  delivered through the usual durable path to that subscription's endpoints only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, idempotency, schemas
from ccbridge.api.audit import audit
from ccbridge.api.guard import READ, WRITE, authorize
from ccbridge.api.http import json_response
from ccbridge.api.services import Services
from ccbridge.core.endpoint_health import HealthRecord
from ccbridge.core.event import EndpointSpec, Subscription
from ccbridge.core.operational import TEST_EVENT, test_event
from ccbridge.core.redact import mask_text, mask_url
from ccbridge.core.signatures import generate_secret
from ccbridge.core.times import iso, iso_or_none
from ccbridge.errors import FieldError, InputError, NotFoundError

ONE = "/api/v2/eventbridge/subscriptions/{subscription_id}"
ADDRESSED = (*docs.READS, 404)
LIST = docs.Doc("A subscription's endpoints and their health", schemas.EndpointHealthList, errors=ADDRESSED)
SWITCH = docs.Doc("Enable or disable one endpoint", schemas.EndpointHealth, errors=(*ADDRESSED, 422))
ROTATE = docs.Doc("Rotate the subscription's signing secret", schemas.SecretRotated, errors=(*ADDRESSED, 503))
TEST = docs.Doc(
    "Send a test event to the subscription's endpoints",
    schemas.TestEventSent,
    status=202,
    errors=(*ADDRESSED, 503),
)


def render_endpoint(index: int, spec: EndpointSpec, record: HealthRecord | None) -> dict[str, Any]:
    r = record or HealthRecord("", spec.url)
    rate = spec.rate_limit_per_second
    return {
        "index": index,
        "url": mask_url(spec.url),
        "type": spec.type,
        "rateLimitPerSecond": None if rate is None else int(rate),
        "state": r.state,
        "consecutiveFailures": r.failures,
        "failingSince": iso_or_none(r.failing_since),
        "openedAt": iso_or_none(r.opened_at) if r.state == "open" else None,
        "nextProbeAt": iso_or_none(r.next_probe_at) if r.state == "open" else None,
        "lastError": None if r.last_error is None else mask_text(r.last_error),
        "disabledAt": iso_or_none(r.disabled_at),
        "disabledBy": r.disabled_by,
    }


class EndpointRoutes:
    """The handlers, bound to the services they use."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store

    async def _get(self, sub_id: str) -> Subscription:
        sub = await self.store.get_subscription(sub_id)
        if sub is None:
            raise NotFoundError(f"no subscription with id {sub_id}")
        return sub

    async def list_endpoints(self, request: Request, subscription_id: str) -> Response:
        authorize(self.services, request, READ)
        sub = await self._get(subscription_id)
        records = {r.url: r for r in await self.store.endpoint_health(sub.id)}
        entities = [render_endpoint(i, e, records.get(e.url)) for i, e in enumerate(sub.endpoints)]
        return json_response({"subscriptionId": sub.id, "entities": entities})

    async def enable(self, request: Request, subscription_id: str, index: str) -> Response:
        return await self._switch(request, subscription_id, index, True)

    async def disable(self, request: Request, subscription_id: str, index: str) -> Response:
        return await self._switch(request, subscription_id, index, False)

    async def _switch(self, request: Request, sub_id: str, index: str, enabled: bool) -> Response:
        principal = authorize(self.services, request, WRITE)
        sub = await self._get(sub_id)
        if not index.isdigit() or int(index) >= len(sub.endpoints):
            raise InputError(
                [FieldError("index", f"must be an endpoint's index, 0 to {len(sub.endpoints) - 1}")]
            )
        spec = sub.endpoints[int(index)]
        record = await self.store.set_endpoint_enabled(sub.id, spec.url, enabled)
        operation = "endpoint.enable" if enabled else "endpoint.disable"
        audit(self.services, request, principal, operation, subscription_id=sub.id, status=200)
        return json_response(render_endpoint(int(index), spec, record))

    async def rotate(self, request: Request, subscription_id: str) -> Response:
        principal = authorize(self.services, request, WRITE)
        write = await idempotency.begin(self.store, request, principal.client_id, {})
        if write.replayed is not None:
            return write.replayed
        sub = await self._get(subscription_id)
        now = self.services.now()
        expires = now + self.services.config.delivery.secret_grace_seconds
        rotated = replace(
            sub,
            secret=generate_secret(),
            previous_secret=sub.secret,
            previous_secret_expires_at=expires,
            updated_at=iso(now),
        )
        answer = {"subscriptionId": sub.id, "secret": rotated.secret, "previousSecretExpiresAt": iso(expires)}
        await self.store.update_subscription(rotated, write.record(200, answer, now))
        audit(
            self.services,
            request,
            principal,
            "secret.rotate",
            subscription_id=sub.id,
            status=200,
            idempotency_key=write.key,
        )
        return json_response(answer)

    async def send_test(self, request: Request, subscription_id: str) -> Response:
        principal = authorize(self.services, request, WRITE)
        sub = await self._get(subscription_id)
        event = test_event(sub.id, self.services.now(), idempotency.read_key(request.headers))
        result = await self.store.append_event(event)
        audit(self.services, request, principal, "test", subscription_id=sub.id, status=202)
        body = {"id": result.event.id, "eventType": TEST_EVENT, "deliveries": result.deliveries}
        return json_response(body, 202)


def build_router(services: Services) -> APIRouter:
    routes = EndpointRoutes(services)
    router = APIRouter(tags=["endpoints"])
    docs.add(router, "GET", ONE + "/endpoints", routes.list_endpoints, LIST)
    docs.add(router, "POST", ONE + "/endpoints/{index}/enable", routes.enable, SWITCH)
    docs.add(router, "POST", ONE + "/endpoints/{index}/disable", routes.disable, SWITCH)
    docs.add(router, "POST", ONE + "/secret/rotate", routes.rotate, ROTATE)
    docs.add(router, "POST", ONE + "/test", routes.send_test, TEST)
    return router
