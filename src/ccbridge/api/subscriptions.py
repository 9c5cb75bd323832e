"""`/api/v2/eventbridge/subscriptions`: CRUD in both dialects, idempotent writes, delivery status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, idempotency, schemas
from ccbridge.api.audit import Handler, audit, audit_refusals
from ccbridge.api.guard import READ, WRITE, authorize
from ccbridge.api.http import json_response, read_json
from ccbridge.api.services import Services
from ccbridge.api.tokens import Principal
from ccbridge.core.dialects import Limits, parse_subscription, render_subscription
from ccbridge.core.event import Subscription
from ccbridge.core.health import delivery_state
from ccbridge.core.ids import uuid4_str
from ccbridge.core.ports import DeliveryCounts
from ccbridge.core.times import iso
from ccbridge.errors import ConflictError, NotFoundError

REGISTRY_HEADER = "X-Registry-Sync"
"""On subscription writes of a server with `registry:`: the server posts the registry's notice, so
a client (`ccbridge subscriptions apply`) need not post its own."""

BASE = "/api/v2/eventbridge/subscriptions"
ONE = BASE + "/{subscription_id}"
ADDRESSED = (*docs.READS, 404)
CREATE = docs.Doc(
    "Create a subscription (CXone or Genesys dialect)",
    schemas.Subscription,
    status=201,
    body=schemas.SubscriptionBody,
    errors=(*docs.WRITES, 409),
)
LIST = docs.Doc("List subscriptions", schemas.SubscriptionList, errors=docs.READS)
GET = docs.Doc("Get a subscription", schemas.Subscription, errors=ADDRESSED)
REPLACE = docs.Doc(
    "Replace a subscription",
    schemas.Subscription,
    body=schemas.SubscriptionBody,
    errors=(*docs.WRITES, 404, 409),
)
DELETE = docs.Doc("Delete a subscription", None, status=204, errors=ADDRESSED)
STATUS = docs.Doc("Delivery status of a subscription (seed 001)", schemas.DeliveryStatus, errors=ADDRESSED)


def render_status(sub: Subscription, counts: DeliveryCounts, now: float) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subscriptionId": sub.id,
        "state": delivery_state(counts, now),
        "lastDeliveryError": counts.last_error,
        "lastDeliveryAt": counts.last_delivery_at,
        "lastSuccessAt": counts.last_success_at,
        "counts": {
            "delivered": counts.delivered,
            "pending": counts.pending,
            "retrying": counts.retrying,
            "deadLettered": counts.dead_lettered,
        },
    }
    if counts.waiting_reason:
        body["waiting"] = counts.waiting_reason
    if counts.backpressure:
        body["backpressure"] = counts.backpressure
    return body


class SubscriptionRoutes:
    """The handlers of the subscription routes, bound to the services they use."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self.limits = Limits(
            services.config.limits.max_endpoints, services.config.event_type_known, services.cxone_connectors
        )
        self.max_body = services.config.limits.max_body_bytes
        self.quota = services.config.limits.max_subscriptions

    async def create(self, request: Request) -> Response:
        principal = authorize(self.services, request, WRITE)
        body = await read_json(request, self.max_body)
        write = await idempotency.begin(self.store, request, principal.client_id, body)
        if write.replayed is not None:
            return write.replayed
        now = self.services.now()
        sub = parse_subscription(body, self.limits, sub_id=uuid4_str(), now=iso(now))
        answer = render_subscription(sub, with_secret=True)
        try:
            await self.store.create_subscription(sub, self.quota, write.record(201, answer, now))
        except ConflictError:
            # a concurrent request with the same key may have won the race: answer as it did
            if (stored := await write.replay()) is not None:
                return stored
            raise
        self._written(request, principal, "create", sub.id, 201, write.key)
        return json_response(answer, 201, headers={"Location": f"{BASE}/{sub.id}"})

    async def list_all(self, request: Request) -> Response:
        authorize(self.services, request, READ)
        subs = await self.store.list_subscriptions()
        return json_response({"entities": [render_subscription(s) for s in subs], "total": len(subs)})

    async def get_one(self, request: Request, subscription_id: str) -> Response:
        authorize(self.services, request, READ)
        return json_response(render_subscription(await self._get(subscription_id)))

    async def replace(self, request: Request, subscription_id: str) -> Response:
        principal = authorize(self.services, request, WRITE)
        body = await read_json(request, self.max_body)
        write = await idempotency.begin(self.store, request, principal.client_id, body)
        if write.replayed is not None:
            return write.replayed
        existing = await self._get(subscription_id)
        now = self.services.now()
        sub = parse_subscription(body, self.limits, sub_id=existing.id, now=iso(now), existing=existing)
        answer = render_subscription(sub)
        await self.store.update_subscription(sub, write.record(200, answer, now))
        self._written(request, principal, "update", sub.id, 200, write.key)
        return json_response(answer)

    async def delete(self, request: Request, subscription_id: str) -> Response:
        principal = authorize(self.services, request, WRITE)
        if not await self.store.delete_subscription(subscription_id):
            raise NotFoundError(f"no subscription with id {subscription_id}")
        self._written(request, principal, "delete", subscription_id, 204, None)
        return Response(status_code=204)

    async def delivery_status(self, request: Request, subscription_id: str) -> Response:
        authorize(self.services, request, READ)
        sub = await self._get(subscription_id)
        counts = await self.store.delivery_counts(sub.id)
        return json_response(render_status(sub, counts, self.services.now()))

    async def _get(self, sub_id: str) -> Subscription:
        sub = await self.store.get_subscription(sub_id)
        if sub is None:
            raise NotFoundError(f"no subscription with id {sub_id}")
        return sub

    def _written(
        self,
        request: Request,
        principal: Principal,
        operation: str,
        sub_id: str,
        status: int,
        key: str | None,
    ) -> None:
        self.services.metrics.subscription_writes.labels(operation, "success").inc()
        audit(
            self.services,
            request,
            principal,
            operation,
            subscription_id=sub_id,
            status=status,
            idempotency_key=key,
        )

    def audited(self, operation: str, handler: Handler) -> Handler:
        """`handler` whose refusals are audited and counted too (`api.audit.audit_refusals`), and
        whose every answer says whether the server audited it and posts the registry's notice."""

        def refused(status: int) -> None:
            outcome = "refused" if status < 500 else "failed"
            self.services.metrics.subscription_writes.labels(operation, outcome).inc()

        return audit_refusals(self.services, operation, handler, refused=refused, headers=self._told_headers)

    def _told_headers(self) -> dict[str, str]:
        return {REGISTRY_HEADER: "server"} if self.services.config.registry is not None else {}


def build_router(services: Services) -> APIRouter:
    routes = SubscriptionRoutes(services)
    router = APIRouter(tags=["subscriptions"])
    docs.add(router, "POST", BASE, routes.audited("create", routes.create), CREATE)
    docs.add(router, "GET", BASE, routes.list_all, LIST)
    docs.add(router, "GET", ONE, routes.get_one, GET)
    docs.add(router, "PUT", ONE, routes.audited("update", routes.replace), REPLACE)
    docs.add(router, "DELETE", ONE, routes.audited("delete", routes.delete), DELETE)
    docs.add(router, "GET", ONE + "/delivery-status", routes.delivery_status, STATUS)
    return router
