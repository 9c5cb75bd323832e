"""`/api/v2/eventbridge/deadletters`: list, show, replay (idempotent: only dead rows move) and purge."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api.guard import READ, WRITE, authorize
from ccbridge.api.http import json_response, read_json
from ccbridge.api.services import Services
from ccbridge.core.ports import DeadLetter
from ccbridge.errors import FieldError, InputError, NotFoundError

BASE = "/api/v2/eventbridge/deadletters"
_NAMES = {
    "event_id": "eventId",
    "event_type": "eventType",
    "subscription_id": "subscriptionId",
    "endpoint_url": "endpointUrl",
    "endpoint_type": "endpointType",
    "last_status": "lastStatus",
    "created_at": "createdAt",
    "dead_at": "deadAt",
}


def render(letter: DeadLetter) -> dict[str, Any]:
    body = {_NAMES.get(k, k): v for k, v in asdict(letter).items()}
    if body.get("event") is None:
        body.pop("event", None)
    return body


def _int_param(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit():
        raise InputError(FieldError(name, "must be a non-negative integer"))
    return int(value)


def build_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["dead letters"])
    store = services.store

    def _audit(principal: Any, operation: str, sub_id: str | None, request: Request) -> None:
        if services.audit is not None:
            services.audit.record(
                actor=principal.client_id,
                operation=operation,
                subscription_id=sub_id,
                status=200,
                idempotency_key=None,
                request_id=request.headers.get("x-request-id"),
            )

    async def list_letters(request: Request) -> Response:
        authorize(services, request, READ)
        limit = _int_param(request.query_params.get("limit"), "limit", 100)
        letters = await store.list_dead_letters(request.query_params.get("subscriptionId"), min(limit, 1000))
        return json_response({"entities": [render(d) for d in letters], "total": len(letters)})

    async def show(request: Request, letter_id: int) -> Response:
        authorize(services, request, READ)
        letter = await store.get_dead_letter(letter_id)
        if letter is None:
            raise NotFoundError(f"no dead letter with id {letter_id}")
        return json_response(render(letter))

    async def replay_one(request: Request, letter_id: int) -> Response:
        principal = authorize(services, request, WRITE)
        if await store.get_dead_letter(letter_id) is None:
            count = 0  # already replayed (or never dead): replay is idempotent, not an error
        else:
            count = await store.replay_dead_letters(ids=[letter_id])
        _audit(principal, "replay", None, request)
        return json_response({"replayed": count})

    async def replay_many(request: Request) -> Response:
        principal = authorize(services, request, WRITE)
        body = await read_json(request, services.config.limits.max_body_bytes)
        if not isinstance(body, dict):
            raise InputError(FieldError("body", "must be an object"))
        sub_id, everything = body.get("subscriptionId"), body.get("all") is True
        if (sub_id is None) == (not everything):
            raise InputError(FieldError("subscriptionId", 'give either subscriptionId or "all": true'))
        if sub_id is not None and await store.get_subscription(str(sub_id)) is None:
            raise NotFoundError(f"no subscription with id {sub_id}")
        count = await store.replay_dead_letters(subscription_id=None if everything else str(sub_id))
        _audit(principal, "replay", None if everything else str(sub_id), request)
        return json_response({"replayed": count})

    async def purge(request: Request) -> Response:
        principal = authorize(services, request, WRITE)
        days = request.query_params.get("olderThanDays")
        cutoff = None if days is None else services.now() - _int_param(days, "olderThanDays", 0) * 86400.0
        count = await store.purge_dead_letters(cutoff)
        _audit(principal, "purge", None, request)
        return json_response({"purged": count})

    router.add_api_route(BASE, list_letters, methods=["GET"], summary="List dead letters")
    router.add_api_route(BASE + "/replay", replay_many, methods=["POST"], summary="Replay dead letters")
    router.add_api_route(BASE + "/{letter_id}", show, methods=["GET"], summary="Show a dead letter")
    router.add_api_route(BASE + "/{letter_id}/replay", replay_one, methods=["POST"], summary="Replay one")
    router.add_api_route(BASE, purge, methods=["DELETE"], summary="Purge dead letters")
    return router
