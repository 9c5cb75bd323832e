"""`POST /ingest`: the legacy gateway of seed 003 mounted on the server; "publish" is an append
to the same store, so an accepted legacy event is as durable as any other (202 once stored)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, schemas
from ccbridge.api.http import json_response, read_body
from ccbridge.api.latency import timed
from ccbridge.api.services import Services
from ccbridge.core.jsonbody import require_json_media
from ccbridge.core.tracecontext import valid_traceparent
from ccbridge.errors import BridgeError
from ccbridge.ingest import IngestGateway

PATH = "/ingest"
INGEST = docs.Doc(
    "Legacy business event with a JWT (seed 003's gateway)",
    schemas.IngestAccepted,
    status=202,
    body=schemas.LegacyEvent,
    errors=(400, 401, 413, 415, 422, 429, 503),
)


def make_ingest(
    services: Services, gateway: IngestGateway, max_body_bytes: int
) -> Callable[[Request], Awaitable[Response]]:
    """The handler, shared by the router (OpenAPI) and the fast path (`api.fastpath`)."""
    counter = services.metrics.ingest_requests

    async def ingest(request: Request) -> Response:
        try:
            require_json_media(request.headers.get("content-type"))
            raw = await read_body(request, max_body_bytes)
            given = valid_traceparent(request.headers.get("traceparent"))
            with services.tracing.span("ingest", parent=given, attributes={"http.route": PATH}) as span:
                # the gateway stores the span's traceparent, so the deliveries continue below it
                traced = span.traceparent()
                headers = {**request.headers, "traceparent": traced} if traced else request.headers
                result = await gateway.handle(headers, raw)
                span.set("ccbridge.event_id", result.event.id)
        except BridgeError as exc:
            counter.labels(type(exc).__name__).inc()
            raise
        counter.labels("duplicate" if result.duplicate else "accepted").inc()
        return json_response(
            result.body, result.status_code, headers={"X-Correlation-Id": result.event.correlation_id}
        )

    return timed(services.metrics.ingest_ack_seconds, PATH, ingest)


def build_router(handler: Callable[[Request], Awaitable[Response]]) -> APIRouter:
    router = APIRouter(tags=["ingest"])
    docs.add(router, "POST", PATH, handler, INGEST)
    return router
