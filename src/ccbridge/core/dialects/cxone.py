"""The CXone dialect's own fields (seed 001): `eventType` and `endpoints`.

A body is `{name, description, eventType, filters, endpoints, deadLetterQueue, retryConfiguration}`
(plus `pattern`, `labels`, `secret`). Each endpoint is `{url, type, rateLimitPerSecond,
retryConfiguration}`, `type` one of ARCHITECTURE.md's endpoint types (default `webhook`). The body is
stored with its endpoints, retry and dead-letter settings normalized: every default filled in.
"""

from __future__ import annotations

from typing import Any

from ccbridge.core.dialects.spec import SERVER_FIELDS, DialectPart, Limits
from ccbridge.core.dialects.targets import (
    dead_letter_spec,
    endpoint_spec,
    endpoint_type,
    own_retry,
    rate_limit,
    render_retry,
    retry_spec,
)
from ccbridge.core.event import EndpointSpec
from ccbridge.core.validation import Errors

CXONE_FIELDS = frozenset(
    {
        "name",
        "description",
        "eventType",
        "filters",
        "pattern",
        "endpoints",
        "deadLetterQueue",
        "retryConfiguration",
        "secret",
        "labels",
    }
    | SERVER_FIELDS
)


def cxone_part(body: dict[str, Any], errors: Errors, limits: Limits) -> DialectPart:
    """The event type, endpoints, retry and dead-letter settings of a CXone body."""
    event_type = errors.string(body, "eventType", "eventType", max_len=200)
    if event_type is not None and not limits.known_type(event_type):
        errors.add("eventType", f"unknown event type {event_type!r}")
    raw_endpoints = body.get("endpoints")
    endpoints: list[EndpointSpec] = []
    if not isinstance(raw_endpoints, list) or not raw_endpoints:
        errors.add("endpoints", "must hold at least one endpoint")
    elif len(raw_endpoints) > limits.max_endpoints:
        errors.add("endpoints", f"must hold at most {limits.max_endpoints} endpoints")
    else:
        for i, raw in enumerate(raw_endpoints):
            path = f"endpoints[{i}]"
            if not isinstance(raw, dict):
                errors.add(path, "must be an object {url, type}")
                continue
            errors.unknown(
                raw, {"url", "type", "rateLimitPerSecond", "retryConfiguration"}, prefix=f"{path}."
            )
            kind = endpoint_type(raw.get("type", "webhook"))
            if kind is None:
                errors.add(f"{path}.type", "must be webhook, grpc, queue or cxone-signal")
                continue
            spec = endpoint_spec(
                raw.get("url"),
                kind,
                path,
                errors,
                limits,
                rate_limit(raw, path, errors),
                own_retry(raw, path, errors),
            )
            if spec is not None:
                endpoints.append(spec)
    retry = retry_spec(errors.obj(body, "retryConfiguration", "retryConfiguration"), errors)
    dead = dead_letter_spec(errors.obj(body, "deadLetterQueue", "deadLetterQueue"), errors)
    normalized = {
        "endpoints": [_rendered_endpoint(e) for e in endpoints],
        "retryConfiguration": render_retry(retry),
        "deadLetterQueue": {
            "enabled": dead.enabled,
            "endpointUrl": dead.endpoint_url,
            "retentionDays": dead.retention_days,
        },
    }
    return DialectPart((event_type or "",), tuple(endpoints), retry, dead, {}, normalized)


def _rendered_endpoint(spec: EndpointSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"url": spec.url, "type": spec.type}
    if spec.rate_limit_per_second is not None:
        out["rateLimitPerSecond"] = int(spec.rate_limit_per_second)
    if spec.retry is not None:
        out["retryConfiguration"] = render_retry(spec.retry)
    return out
