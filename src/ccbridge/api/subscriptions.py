"""`/api/v2/eventbridge/subscriptions`: CRUD in both dialects, idempotent writes, delivery status."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import idempotency
from ccbridge.api.guard import READ, WRITE, authorize
from ccbridge.api.http import json_response, read_json
from ccbridge.api.services import Services
from ccbridge.core.dialects import Limits, parse_subscription, render_subscription
from ccbridge.core.event import Subscription
from ccbridge.core.times import RECENT_WINDOW, iso
from ccbridge.errors import ConflictError, NotFoundError

BASE = "/api/v2/eventbridge/subscriptions"


def delivery_state(counts: Any, now: float) -> str:
    """active: nothing failing; degraded: retries or recent failures beside successes;
    failing: the latest attempt failed and nothing succeeded in the last 15 minutes."""
    recent_success = counts.last_success_ts is not None and counts.last_success_ts > now - RECENT_WINDOW
    if counts.last_error and not recent_success:
        return "failing"
    if counts.retrying or counts.recent_failures:
        return "degraded"
    return "active"


def build_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["subscriptions"])
    config = services.config
    store = services.store
    limits = Limits(config.limits.max_endpoints, config.event_type_known)

    async def _get(sub_id: str) -> Subscription:
        sub = await store.get_subscription(sub_id)
        if sub is None:
            raise NotFoundError(f"no subscription with id {sub_id}")
        return sub

    def _audit(
        principal: Any, operation: str, sub_id: str | None, status: int, key: str | None, request: Request
    ) -> None:
        services.metrics.subscription_writes.labels(operation).inc()
        if services.audit is not None:
            services.audit.record(
                actor=principal.client_id,
                operation=operation,
                subscription_id=sub_id,
                status=status,
                idempotency_key=key,
                request_id=request.headers.get("x-request-id"),
            )

    async def create(request: Request) -> Response:
        principal = authorize(services, request, WRITE)
        body = await read_json(request, config.limits.max_body_bytes)
        key = idempotency.read_key(request.headers)
        scope = f"{principal.client_id}:POST:{BASE}"
        digest = idempotency.body_hash(body)
        if (stored := await idempotency.replay(store, scope, key, digest)) is not None:
            return stored
        now = services.now()
        sub = parse_subscription(body, limits, sub_id=str(uuid.uuid4()), now=iso(now))
        answer = render_subscription(sub, with_secret=True)
        try:
            await store.create_subscription(
                sub, config.limits.max_subscriptions, idempotency.record(scope, key, digest, 201, answer, now)
            )
        except ConflictError:
            # a concurrent request with the same key may have won the race: answer as it did
            if (stored := await idempotency.replay(store, scope, key, digest)) is not None:
                return stored
            raise
        _audit(principal, "create", sub.id, 201, key, request)
        return json_response(answer, 201, headers={"Location": f"{BASE}/{sub.id}"})

    async def list_all(request: Request) -> Response:
        authorize(services, request, READ)
        subs = await store.list_subscriptions()
        return json_response({"entities": [render_subscription(s) for s in subs], "total": len(subs)})

    async def get_one(request: Request, subscription_id: str) -> Response:
        authorize(services, request, READ)
        return json_response(render_subscription(await _get(subscription_id)))

    async def replace(request: Request, subscription_id: str) -> Response:
        principal = authorize(services, request, WRITE)
        body = await read_json(request, config.limits.max_body_bytes)
        key = idempotency.read_key(request.headers)
        scope = f"{principal.client_id}:PUT:{BASE}/{subscription_id}"
        digest = idempotency.body_hash(body)
        if (stored := await idempotency.replay(store, scope, key, digest)) is not None:
            return stored
        existing = await _get(subscription_id)
        now = services.now()
        sub = parse_subscription(body, limits, sub_id=existing.id, now=iso(now), existing=existing)
        answer = render_subscription(sub)
        await store.update_subscription(sub, idempotency.record(scope, key, digest, 200, answer, now))
        _audit(principal, "update", sub.id, 200, key, request)
        return json_response(answer)

    async def delete(request: Request, subscription_id: str) -> Response:
        principal = authorize(services, request, WRITE)
        if not await store.delete_subscription(subscription_id):
            raise NotFoundError(f"no subscription with id {subscription_id}")
        _audit(principal, "delete", subscription_id, 204, None, request)
        return Response(status_code=204)

    async def delivery_status(request: Request, subscription_id: str) -> Response:
        authorize(services, request, READ)
        sub = await _get(subscription_id)
        counts = await store.delivery_counts(sub.id)
        body: dict[str, Any] = {
            "subscriptionId": sub.id,
            "state": delivery_state(counts, services.now()),
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
        return json_response(body)

    router.add_api_route(BASE, create, methods=["POST"], status_code=201, summary="Create a subscription")
    router.add_api_route(BASE, list_all, methods=["GET"], summary="List subscriptions")
    router.add_api_route(BASE + "/{subscription_id}", get_one, methods=["GET"], summary="Get a subscription")
    router.add_api_route(
        BASE + "/{subscription_id}", replace, methods=["PUT"], summary="Replace a subscription"
    )
    router.add_api_route(
        BASE + "/{subscription_id}",
        delete,
        methods=["DELETE"],
        status_code=204,
        summary="Delete a subscription",
    )
    router.add_api_route(
        BASE + "/{subscription_id}/delivery-status",
        delivery_status,
        methods=["GET"],
        summary="Delivery status of a subscription (seed 001)",
    )
    return router
