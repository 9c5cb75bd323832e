"""`POST /sources/aws-eventbridge`: Amazon EventBridge events in, as an API destination sends them.

This is what Genesys Cloud's EventBridge integration produces (`version, id, detail-type, source,
account, time, region, resources, detail: {topicName, version, eventBody, metadata}`), so a team that
already runs the integration can point an EventBridge rule's API destination here and get ccbridge's
durability, filters and fan-out behind it. The body is one envelope or a JSON array of at most
`MAX_BATCH`; every envelope is checked before any is stored, and the answer is 200 only once all are.

Each envelope becomes an event with type = `detail-type`, data = `detail.eventBody`, source and time
from the envelope, and idempotency key `aws-eventbridge:<id>`: EventBridge retries a delivery with the
same id, and a redelivery answers the first event's id with `duplicate: true`. `detail.topicName`,
the account, region and resources are kept in the event's metadata.

Authentication is the API destination's connection: an API-key header (`api_key_header`, one of
`api_keys`) or HTTP Basic (one of `basic`), compared in constant time against every configured
credential. 401 when no credential is sent, 403 when the one sent is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, schemas
from ccbridge.api.events import trace_metadata
from ccbridge.api.http import json_response, parse_json, read_body
from ccbridge.api.problems import problem
from ccbridge.api.services import Services
from ccbridge.config.connectors import AwsEventBridgeSourceConfig
from ccbridge.core.accept import accept
from ccbridge.core.envelopes import Envelope
from ccbridge.core.ids import uuid4_str
from ccbridge.core.validation import Errors, is_rfc3339
from ccbridge.errors import InputError

PATH = "/sources/aws-eventbridge"
MAX_BATCH = 100
MAX_ID = 200
ENVELOPE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
RECEIVE = docs.Doc(
    "Amazon EventBridge events (an API destination: API-key header or Basic auth), one or a batch",
    schemas.EventBridgeAnswer,
    body=schemas.EventBridgeBody,
    errors=(400, 401, 403, 413, 415, 422, 503),
)


def _secret_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class Credentials:
    """The configured API keys and Basic pairs; `check` answers None (allowed), 401 or 403."""

    def __init__(self, config: AwsEventBridgeSourceConfig) -> None:
        self.header = config.api_key_header.lower()
        self.keys = [k.get_secret_value() for k in config.api_keys]
        self.basic = [(b.username, b.password.get_secret_value()) for b in config.basic]

    def check(self, request: Request) -> int | None:
        key = request.headers.get(self.header)
        basic = _basic(request.headers.get("authorization"))
        if key is None and basic is None:
            return 401
        # every candidate is compared, whichever matches, so the time says nothing about which one
        ok = False
        if key is not None:
            for expected in self.keys:
                ok |= _secret_equal(key, expected)
        if basic is not None:
            for user, password in self.basic:
                ok |= _secret_equal(basic[0], user) & _secret_equal(basic[1], password)
        return None if ok else 403


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")  # sent but unreadable: a wrong credential
    return user, password


def check_envelope(body: Any, prefix: str, errors: Errors) -> None:
    """Every field at fault of one envelope, named under `prefix` (`` or `[3].`)."""
    if not isinstance(body, dict):
        errors.add(prefix.rstrip(".") or "body", "must be an EventBridge event object")
        return
    errors.unknown(body, ENVELOPE_KEYS, prefix)
    errors.string(body, "id", prefix + "id", max_len=MAX_ID)
    errors.string(body, "detail-type", prefix + "detail-type", max_len=256)
    errors.string(body, "source", prefix + "source", max_len=256)
    if body.get("time") is None:
        errors.add(prefix + "time", "is required (RFC 3339, e.g. 2026-01-31T12:00:00Z)")
    elif not is_rfc3339(body["time"]):
        errors.add(prefix + "time", "must be an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z")
    for key in ("version", "account", "region"):
        errors.string(body, key, prefix + key, required=False, max_len=256)
    resources = body.get("resources")
    if resources is not None and not (
        isinstance(resources, list) and all(isinstance(r, str) for r in resources)
    ):
        errors.add(prefix + "resources", "must be an array of strings")
    detail = body.get("detail")
    if not isinstance(detail, dict):
        errors.add(
            prefix + "detail", "is required and must be an object {topicName, version, eventBody, metadata}"
        )
    elif "eventBody" not in detail:
        errors.add(prefix + "detail.eventBody", "is required (it becomes the event's data)")
    elif detail.get("topicName") is not None and not isinstance(detail["topicName"], str):
        errors.add(prefix + "detail.topicName", "must be a string")


def envelopes_of(body: Any) -> tuple[list[dict[str, Any]], bool]:
    """The envelopes of a body and whether it was a batch; InputError naming every field at fault."""
    batch = isinstance(body, list)
    items = body if batch else [body]
    errors = Errors()
    if batch and not 1 <= len(items) <= MAX_BATCH:
        errors.add("body", f"a batch holds 1 to {MAX_BATCH} events")
    for n, item in enumerate(items[:MAX_BATCH] if batch else items):
        check_envelope(item, f"[{n}]." if batch else "", errors)
    if errors:
        raise InputError(errors.items)
    return items, batch


def _metadata(envelope: dict[str, Any]) -> dict[str, str]:
    detail = envelope["detail"]
    found = {
        "eventBridgeId": envelope["id"],
        "awsAccount": envelope.get("account"),
        "awsRegion": envelope.get("region"),
        "topicName": detail.get("topicName"),
        "resources": ",".join(envelope.get("resources") or []) or None,
    }
    return {k: v for k, v in found.items() if isinstance(v, str)}


class EventBridgeSource:
    """The handler, bound to the services and `connectors.aws_eventbridge`."""

    def __init__(self, services: Services, config: AwsEventBridgeSourceConfig) -> None:
        self.services = services
        self.credentials = Credentials(config)

    async def receive(self, request: Request) -> Response:
        refused = self.credentials.check(request)
        if refused is not None:
            headers = {"WWW-Authenticate": 'Basic realm="ccbridge"'} if refused == 401 else None
            answer = problem(
                refused,
                "unauthorized" if refused == 401 else "forbidden",
                "send the API destination's API key or Basic credentials"
                if refused == 401
                else "the credentials sent are not accepted",
            )
            if headers:
                answer.headers.update(headers)
            return answer
        raw = await read_body(request, self.services.config.limits.max_body_bytes)
        items, batch = envelopes_of(parse_json(request, raw))
        now = self.services.now()
        results = []
        for envelope in items:
            event = accept(
                Envelope(
                    envelope["detail-type"],
                    envelope["time"],
                    envelope["source"],
                    envelope["detail"]["eventBody"],
                    "aws-eventbridge",
                ),
                received_at=now,
                correlation_id=uuid4_str(),
                idempotency_key="aws-eventbridge:" + envelope["id"],
                metadata={**trace_metadata(request), **_metadata(envelope)},
            )
            stored = await self.services.store.append_event(event)
            results.append(
                {"id": stored.event.id, "duplicate": not stored.created, "eventBridgeId": envelope["id"]}
            )
        return json_response({"results": results} if batch else results[0], 200)


def build_router(services: Services, config: AwsEventBridgeSourceConfig) -> APIRouter:
    router = APIRouter(tags=["sources"])
    docs.add(router, "POST", PATH, EventBridgeSource(services, config).receive, RECEIVE)
    return router
