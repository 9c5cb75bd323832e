"""`POST /events`: platform webhooks in (seed 002's receiver), signed, stored, then delivered.

The stored event gets its own id like every accepted event (`core.accept`); the webhook's identity
(`webhook-id`, else `metadata.id`, else `sha256:` of the body; at most 255 characters, the cap
of an API Idempotency-Key) becomes its idempotency key (`inbound:<identity>`) and its
`metadata.webhookId`. So a platform's redelivery of the same webhook is stored once: it answers
200 with the first event's id and `duplicate: true`. Bodies must be sent as JSON (415 otherwise).
A request with no signature header answers 401; one whose signature is there but does not verify
(a wrong secret, an altered body, a stale timestamp) answers 403, as seed 002's receiver does.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, schemas
from ccbridge.api.events import correlation_id
from ccbridge.api.http import json_response, parse_json, read_body
from ccbridge.api.idempotency import MAX_KEY_LENGTH
from ccbridge.api.latency import timed
from ccbridge.api.services import Services
from ccbridge.api.tracing import store_traced
from ccbridge.core.accept import accept
from ccbridge.core.envelopes import Envelope
from ccbridge.core.signatures import verify_inbound
from ccbridge.core.times import iso
from ccbridge.core.validation import Errors
from ccbridge.errors import AuthError, BadSignature, FieldError, InputError, Malformed

RECEIVE = docs.Doc(
    "Inbound platform webhook (HMAC-signed)",
    schemas.InboundAccepted,
    body=schemas.InboundWebhook,
    errors=(400, 401, 403, 413, 415, 422, 503),
)


def _identity(request: Request, body: dict[str, Any], raw: bytes) -> str:
    """The webhook's identity, capped like an API Idempotency-Key (it becomes one): Malformed when
    the one given is longer than 255 characters."""
    given, field = request.headers.get("webhook-id"), "webhook-id"
    metadata = body.get("metadata")
    if not given and isinstance(metadata, dict) and isinstance(metadata.get("id"), str):
        given, field = metadata["id"], "metadata.id"
    if given and len(given) > MAX_KEY_LENGTH:
        raise Malformed(FieldError(field, f"must be at most {MAX_KEY_LENGTH} characters"))
    return given or "sha256:" + hashlib.sha256(raw).hexdigest()


def _checked(body: Any) -> tuple[str, dict[str, Any]]:
    """The event type and metadata of a webhook body; InputError listing what is wrong."""
    if not isinstance(body, dict):
        raise InputError([], title="the body must be a JSON object {event, data, metadata}")
    errors = Errors()
    event_type = errors.string(body, "event", "event", max_len=256)
    if not isinstance(body.get("data", {}), dict):
        errors.add("data", "must be an object")
    if errors:
        raise InputError(errors.items)
    given = body.get("metadata")
    return event_type or "", given if isinstance(given, dict) else {}


class InboundRoute:
    """The handler of `POST /events`, bound to the services and the `inbound:` config."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.config = services.config.inbound
        self.secrets = [s.get_secret_value() for s in self.config.secrets]
        self.counter = services.metrics.inbound_webhooks

    async def receive(self, request: Request) -> Response:
        raw = await read_body(request, self.services.config.limits.max_body_bytes)
        now = self.services.now()
        try:
            verify_inbound(request.headers, raw, self.secrets, now, self.config.tolerance_seconds)
        except BadSignature:
            self.counter.labels("forbidden").inc()
            raise
        except AuthError:
            self.counter.labels("unauthorized").inc()
            raise
        body = parse_json(request, raw)
        event_type, metadata = _checked(body)
        identity = _identity(request, body, raw)
        time = str(metadata.get("timestamp") or iso(now))
        correlation = correlation_id(request)
        result = await store_traced(
            self.services,
            request,
            "/events",
            lambda trace: accept(
                Envelope(event_type, time, self.config.source, body.get("data", {}), "inbound"),
                received_at=now,
                correlation_id=correlation,
                idempotency_key="inbound:" + identity,
                metadata={**trace, "webhookId": identity},
            ),
        )
        self.counter.labels("stored" if result.created else "duplicate").inc()
        return json_response({"id": result.event.id, "duplicate": not result.created}, 200)


def build_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["inbound"])
    receive = timed(services.metrics.ingest_ack_seconds, "/events", InboundRoute(services).receive)
    docs.add(router, "POST", "/events", receive, RECEIVE)
    return router
