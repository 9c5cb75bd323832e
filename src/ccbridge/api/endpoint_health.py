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

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, idempotency, schemas
from ccbridge.api import endpoint_actions as actions
from ccbridge.api.guard import READ, WRITE, authorize
from ccbridge.api.http import json_response
from ccbridge.api.services import Services
from ccbridge.core.endpoint_health import HealthRecord
from ccbridge.core.event import EndpointSpec
from ccbridge.core.operational import TEST_EVENT
from ccbridge.core.ports import IdempotentRecord
from ccbridge.core.redact import mask_text, mask_url
from ccbridge.core.times import iso, iso_or_none

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
    """The handlers, bound to the services they use: the JSON transport of `api.endpoint_actions`."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store

    async def list_endpoints(self, request: Request, subscription_id: str) -> Response:
        authorize(self.services, request, READ)
        sub = await actions.subscription(self.services, subscription_id)
        records = {r.url: r for r in await self.store.endpoint_health(sub.id)}
        entities = [render_endpoint(i, e, records.get(e.url)) for i, e in enumerate(sub.endpoints)]
        return json_response({"subscriptionId": sub.id, "entities": entities})

    async def enable(self, request: Request, subscription_id: str, index: str) -> Response:
        return await self._switch(request, subscription_id, index, True)

    async def disable(self, request: Request, subscription_id: str, index: str) -> Response:
        return await self._switch(request, subscription_id, index, False)

    async def _switch(self, request: Request, sub_id: str, index: str, enabled: bool) -> Response:
        principal = authorize(self.services, request, WRITE)
        done = await actions.switch(self.services, request, principal, sub_id, index, enabled)
        return json_response(render_endpoint(done.index, done.spec, done.record))

    async def rotate(self, request: Request, subscription_id: str) -> Response:
        principal = authorize(self.services, request, WRITE)
        write = await idempotency.begin(self.store, request, principal.client_id, {})
        if write.replayed is not None:
            return write.replayed

        def keep(rotation: actions.Rotation, now: float) -> IdempotentRecord | None:
            return write.record(200, rotated_answer(rotation), now)

        rotation = await actions.rotate(
            self.services, request, principal, subscription_id, keep=keep, idempotency_key=write.key
        )
        return json_response(rotated_answer(rotation))

    async def send_test(self, request: Request, subscription_id: str) -> Response:
        principal = authorize(self.services, request, WRITE)
        result = await actions.send_test(self.services, request, principal, subscription_id, keyed=True)
        body = {"id": result.event.id, "eventType": TEST_EVENT, "deliveries": result.deliveries}
        return json_response(body, 202)


def rotated_answer(rotation: actions.Rotation) -> dict[str, Any]:
    """The answer to a rotation, and what an `Idempotency-Key` repeat answers again."""
    return {
        "subscriptionId": rotation.subscription.id,
        "secret": rotation.secret,
        "previousSecretExpiresAt": iso(rotation.previous_expires_at),
    }


def build_router(services: Services) -> APIRouter:
    routes = EndpointRoutes(services)
    router = APIRouter(tags=["endpoints"])
    docs.add(router, "GET", ONE + "/endpoints", routes.list_endpoints, LIST)
    docs.add(router, "POST", ONE + "/endpoints/{index}/enable", routes.enable, SWITCH)
    docs.add(router, "POST", ONE + "/endpoints/{index}/disable", routes.disable, SWITCH)
    docs.add(router, "POST", ONE + "/secret/rotate", routes.rotate, ROTATE)
    docs.add(router, "POST", ONE + "/test", routes.send_test, TEST)
    return router
