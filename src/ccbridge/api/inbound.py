"""`POST /events`: platform webhooks in (seed 002's receiver), signed, stored, then delivered.

The id is `webhook-id`, else `metadata.id`, else a hash of the body, and doubles as the
idempotency key, so a platform's redelivery of the same webhook is stored once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api.events import correlation_id, trace_metadata
from ccbridge.api.http import json_response, parse_json, read_body
from ccbridge.api.services import Services
from ccbridge.core.event import Event
from ccbridge.core.ids import uuid4_str
from ccbridge.core.signatures import verify_inbound
from ccbridge.core.times import iso
from ccbridge.core.validation import Errors
from ccbridge.errors import AuthError, InputError


def _identity(request: Request, body: dict[str, Any], raw: bytes) -> str:
    given = request.headers.get("webhook-id")
    metadata = body.get("metadata")
    if not given and isinstance(metadata, dict) and isinstance(metadata.get("id"), str):
        given = metadata["id"]
    return given or "sha256:" + hashlib.sha256(raw).hexdigest()


def build_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["inbound"])
    config = services.config.inbound
    secrets = [s.get_secret_value() for s in config.secrets]
    counter = services.metrics.inbound_webhooks

    async def receive(request: Request) -> Response:
        raw = await read_body(request, services.config.limits.max_body_bytes)
        try:
            verify_inbound(request.headers, raw, secrets, services.now(), config.tolerance_seconds)
        except AuthError:
            counter.labels("unauthorized").inc()
            raise
        body = parse_json(raw)
        errors = Errors()
        if not isinstance(body, dict):
            raise InputError([], title="the body must be a JSON object {event, data, metadata}")
        event_type = errors.string(body, "event", "event", max_len=256)
        if not isinstance(body.get("data", {}), dict):
            errors.add("data", "must be an object")
        if errors:
            raise InputError(errors.items)
        given = body.get("metadata")
        metadata: dict[str, Any] = given if isinstance(given, dict) else {}
        key = "inbound:" + _identity(request, body, raw)
        now = services.now()
        event = Event(
            id=uuid4_str(),
            type=event_type or "",
            source=config.source,
            time=str(metadata.get("timestamp") or iso(now)),
            data=body.get("data", {}),
            dialect="inbound",
            correlation_id=correlation_id(request),
            received_at=iso(now),
            idempotency_key=key,
            metadata={**trace_metadata(request), "webhookId": key.removeprefix("inbound:")},
        )
        result = await services.store.append_event(event)
        counter.labels("stored" if result.created else "duplicate").inc()
        return json_response({"id": result.event.id, "duplicate": not result.created}, 200)

    router.add_api_route(
        "/events", receive, methods=["POST"], summary="Inbound platform webhook (HMAC-signed)"
    )
    return router
