"""`POST /api/v2/eventbridge/events`: the hot path. Answers 201 only after the event and the
deliveries it causes are committed; a repeated idempotency key within 24 h answers 200 with the
original event, whatever the body (publishers rebuild timestamps on a re-run, seed 004)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, Request
from prometheus_client import Counter
from starlette.responses import Response

from ccbridge.api import docs, schemas
from ccbridge.api.guard import EVENTS, authorize
from ccbridge.api.http import json_response, read_json
from ccbridge.api.idempotency import read_key
from ccbridge.api.latency import timed
from ccbridge.api.services import Services
from ccbridge.api.tracing import store_traced
from ccbridge.core.accept import accept
from ccbridge.core.envelopes import parse_event_body
from ccbridge.core.event import Event
from ccbridge.core.ids import uuid4_str
from ccbridge.core.tracecontext import valid_traceparent
from ccbridge.errors import FieldError, Malformed
from ccbridge.observability.logging import debug

MAX_HEADER_VALUE = 255
log = structlog.get_logger("ccbridge.api")


def correlation_id(request: Request) -> str:
    given = request.headers.get("x-correlation-id")
    if given is None:
        return uuid4_str()
    if not given.strip() or len(given) > MAX_HEADER_VALUE or not given.isprintable():
        raise Malformed(
            FieldError("X-Correlation-Id", f"must be 1 to {MAX_HEADER_VALUE} printable characters")
        )
    return given


def trace_metadata(request: Request) -> dict[str, str]:
    """The request's `traceparent` when well-formed (`core.tracecontext`), as event metadata."""
    parent = valid_traceparent(request.headers.get("traceparent"))
    return {"traceparent": parent} if parent else {}


def ack(event: Event) -> dict[str, object]:
    return {
        "id": event.id,
        "eventType": event.type,
        "idempotencyKey": event.idempotency_key,
        "correlationId": event.correlation_id,
        "receivedAt": event.received_at,
    }


PATH = "/api/v2/eventbridge/events"
PUBLISH = docs.Doc(
    "Publish an event (CXone or Genesys dialect)",
    schemas.EventAccepted,
    status=201,
    body=schemas.EventBody,
    errors=docs.WRITES,
    extra=((200, schemas.EventAccepted),),
)


def make_publish(services: Services) -> Callable[[Request], Awaitable[Response]]:
    """The handler, shared by the router (for OpenAPI and the error handlers) and the fast path."""
    limit = services.config.limits.max_body_bytes
    known = services.config.event_type_known
    counters = services.metrics.events_received
    received: dict[tuple[str, bool], Counter] = {}  # (dialect, created) -> its counter child, resolved once

    def count(dialect: str, created: bool) -> None:
        child = received.get((dialect, created))
        if child is None:
            child = received[(dialect, created)] = counters.labels(
                dialect, "created" if created else "duplicate"
            )
        child.inc()

    async def publish(request: Request) -> Response:
        principal = authorize(services, request, EVENTS)
        body = await read_json(request, limit)
        envelope = parse_event_body(body, known, principal.client_id)
        correlation = correlation_id(request)
        key = read_key(request.headers)
        result = await store_traced(
            services,
            request,
            PATH,
            lambda trace: accept(
                envelope,
                received_at=services.now(),
                correlation_id=correlation,
                idempotency_key=key,
                metadata=trace,
            ),
        )
        count(envelope.dialect, result.created)
        debug(
            log,
            "event stored" if result.created else "duplicate event",
            event_id=result.event.id,
            event_type=envelope.type,
            dialect=envelope.dialect,
            correlation_id=correlation,
        )
        return json_response(
            ack(result.event), 201 if result.created else 200, headers={"X-Correlation-Id": correlation}
        )

    return timed(services.metrics.ingest_ack_seconds, PATH, publish)


def build_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["events"])
    docs.add(router, "POST", PATH, make_publish(services), PUBLISH)
    return router
