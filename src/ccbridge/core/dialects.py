"""The two API dialects at the edge: CXone and Genesys bodies <-> Subscription and Event.

CXone (seed 001): `{name, description, eventType, filters, endpoints, deadLetterQueue,
retryConfiguration}`. Genesys (seed 002): `{name, eventTypes, deliveryConfig, filter}`. Both may
carry `pattern` (an EventBridge pattern) and `labels` (a string map; `managed-by` marks what a
declarative apply owns). Every field at fault is reported at once, named by its path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ccbridge.core.event import DeadLetterSpec, EndpointSpec, EndpointType, RetrySpec, Subscription
from ccbridge.core.rules import PatternError, compile_pattern, expression_to_pattern, filters_to_pattern
from ccbridge.core.signatures import generate_secret, is_valid_secret
from ccbridge.core.validation import Errors, url_problem
from ccbridge.errors import InputError

SERVER_FIELDS = {"id", "state", "createdDate", "updatedDate", "secretHint", "dialect"}
CXONE_FIELDS = {
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
} | SERVER_FIELDS
GENESYS_FIELDS = {
    "name",
    "description",
    "eventTypes",
    "deliveryConfig",
    "filter",
    "pattern",
    "secret",
    "labels",
} | SERVER_FIELDS
ENDPOINT_SCHEMES: dict[str, tuple[str, ...]] = {
    "webhook": ("http", "https"),
    "grpc": ("grpc", "grpcs"),
    "queue": ("nats", "queue"),
}


@dataclass(frozen=True, slots=True)
class Limits:
    """What a subscription may hold; `known_type` says whether an event type is in the catalogue."""

    max_endpoints: int
    known_type: Callable[[str], bool]


def detect_dialect(body: dict[str, Any]) -> str | None:
    if "eventTypes" in body or "deliveryConfig" in body:
        return "genesys"
    if "eventType" in body or "endpoints" in body:
        return "cxone"
    return None


def parse_subscription(
    body: Any, limits: Limits, *, sub_id: str, now: str, existing: Subscription | None = None
) -> Subscription:
    """Validate a create/replace body in either dialect; raises InputError listing every field."""
    errors = Errors()
    if not isinstance(body, dict):
        raise InputError([], title="the body must be a JSON object")
    dialect = detect_dialect(body)
    if dialect is None:
        errors.add(
            "eventType", "is required (CXone: eventType + endpoints; Genesys: eventTypes + deliveryConfig)"
        )
        raise InputError(errors.items)
    name = errors.string(body, "name", "name", max_len=200)
    description = errors.string(body, "description", "description", required=False, max_len=2000) or ""
    labels = errors.string_map(body, "labels", "labels")
    secret = _secret(body, errors, existing)
    if dialect == "cxone":
        errors.unknown(body, CXONE_FIELDS)
        parts = _cxone(body, errors, limits)
    else:
        errors.unknown(body, GENESYS_FIELDS)
        parts = _genesys(body, errors, limits)
    kind, source, pattern = _filter(body, dialect, errors)
    if errors:
        raise InputError(errors.items)
    request = {k: v for k, v in body.items() if k not in SERVER_FIELDS and k != "secret"}
    request.update(parts.pop("normalized"))
    return Subscription(
        id=sub_id,
        name=name or "",
        dialect=dialect,  # type: ignore[arg-type]
        description=description,
        secret=secret,
        labels=labels,
        created_at=existing.created_at if existing else now,
        updated_at=now,
        filter_kind=kind,
        filter_source=source,
        pattern=pattern,
        request=request,
        **parts,
    )


def _secret(body: dict[str, Any], errors: Errors, existing: Subscription | None) -> str:
    given = body.get("secret")
    if given is None:
        return existing.secret if existing is not None else generate_secret()
    if not isinstance(given, str) or not is_valid_secret(given):
        errors.add("secret", "must be whsec_ followed by the base64 of 24 to 64 random bytes")
        return ""
    return given


def _endpoint(raw: Any, path: str, errors: Errors) -> EndpointSpec | None:
    if not isinstance(raw, dict):
        errors.add(path, "must be an object {url, type}")
        return None
    errors.unknown(raw, {"url", "type"}, prefix=f"{path}.")
    kind = raw.get("type", "webhook")
    if kind not in ENDPOINT_SCHEMES:
        errors.add(f"{path}.type", "must be webhook, grpc or queue")
        return None
    problem = url_problem(raw.get("url"), ENDPOINT_SCHEMES[kind])
    if problem:
        errors.add(f"{path}.url", problem)
        return None
    return EndpointSpec(raw["url"], kind)


def _cxone(body: dict[str, Any], errors: Errors, limits: Limits) -> dict[str, Any]:
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
            spec = _endpoint(raw, f"endpoints[{i}]", errors)
            if spec is not None:
                endpoints.append(spec)
    retry = _retry(errors.obj(body, "retryConfiguration", "retryConfiguration"), errors)
    dead = _dead_letter(errors.obj(body, "deadLetterQueue", "deadLetterQueue"), errors)
    normalized = {
        "endpoints": [{"url": e.url, "type": e.type} for e in endpoints],
        "retryConfiguration": {
            "maxRetries": retry.max_retries,
            "backoffStrategy": retry.strategy,
            "initialDelayMs": retry.initial_delay_ms,
            "maxDelayMs": retry.max_delay_ms,
        },
        "deadLetterQueue": {
            "enabled": dead.enabled,
            "endpointUrl": dead.endpoint_url,
            "retentionDays": dead.retention_days,
        },
    }
    return {
        "event_types": (event_type or "",),
        "endpoints": tuple(endpoints),
        "retry": retry,
        "dead_letter": dead,
        "headers": {},
        "normalized": normalized,
    }


def _retry(raw: dict[str, Any], errors: Errors) -> RetrySpec:
    path = "retryConfiguration"
    errors.unknown(raw, {"maxRetries", "backoffStrategy", "initialDelayMs", "maxDelayMs"}, prefix=f"{path}.")
    default = RetrySpec()
    strategy = raw.get("backoffStrategy", default.strategy)
    if strategy not in ("exponential", "linear"):
        errors.add(f"{path}.backoffStrategy", "must be exponential or linear")
        strategy = default.strategy
    max_retries = errors.integer(raw, "maxRetries", f"{path}.maxRetries", default.max_retries, high=100)
    initial = errors.integer(
        raw, "initialDelayMs", f"{path}.initialDelayMs", default.initial_delay_ms, high=86_400_000
    )
    cap = errors.integer(
        raw, "maxDelayMs", f"{path}.maxDelayMs", max(default.max_delay_ms, initial), high=86_400_000
    )
    if initial > cap:
        errors.add(f"{path}.initialDelayMs", "must not be greater than maxDelayMs")
    return RetrySpec(max(max_retries, 0), strategy, max(initial, 0), max(cap, 0))


def _dead_letter(raw: dict[str, Any], errors: Errors) -> DeadLetterSpec:
    path = "deadLetterQueue"
    errors.unknown(raw, {"enabled", "endpointUrl", "retentionDays"}, prefix=f"{path}.")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.add(f"{path}.enabled", "must be true or false")
        enabled = True
    url = raw.get("endpointUrl")
    if url is not None:
        problem = url_problem(url, ("http", "https"))
        if problem:
            errors.add(f"{path}.endpointUrl", problem)
            url = None
    days = errors.integer(raw, "retentionDays", f"{path}.retentionDays", 14, low=1, high=3650)
    return DeadLetterSpec(enabled, url if enabled else None, days)


def _genesys(body: dict[str, Any], errors: Errors, limits: Limits) -> dict[str, Any]:
    types = body.get("eventTypes")
    event_types: list[str] = []
    if not isinstance(types, list) or not types:
        errors.add("eventTypes", "must hold at least one event type")
    else:
        for i, event_type in enumerate(types):
            if not isinstance(event_type, str) or not limits.known_type(event_type):
                errors.add(f"eventTypes[{i}]", f"unknown event type {event_type!r}")
            else:
                event_types.append(event_type)
    config = body.get("deliveryConfig")
    endpoint: EndpointSpec | None = None
    headers: dict[str, str] = {}
    if not isinstance(config, dict):
        errors.add("deliveryConfig", "is required: {deliveryType, url, headers}")
    else:
        errors.unknown(config, {"deliveryType", "url", "headers"}, prefix="deliveryConfig.")
        delivery_type = str(config.get("deliveryType", "WEBHOOK")).lower()
        kind: EndpointType | None = delivery_type if delivery_type in ENDPOINT_SCHEMES else None  # type: ignore[assignment]
        if kind is None:
            errors.add("deliveryConfig.deliveryType", "must be WEBHOOK, GRPC or QUEUE")
        else:
            endpoint = _endpoint({"url": config.get("url"), "type": kind}, "deliveryConfig", errors)
        headers = errors.string_map(config, "headers", "deliveryConfig.headers")
    return {
        "event_types": tuple(event_types),
        "endpoints": (endpoint,) if endpoint else (),
        "retry": RetrySpec(),
        "dead_letter": DeadLetterSpec(),
        "headers": headers,
        "normalized": {},
    }


def _filter(body: dict[str, Any], dialect: str, errors: Errors) -> tuple[Any, Any, dict[str, Any] | None]:
    """The subscription's filter in whichever form it came, compiled to one event pattern."""
    key = "filters" if dialect == "cxone" else "filter"
    given = [k for k in (key, "pattern") if body.get(k) not in (None, [], "")]
    if len(given) > 1:
        errors.add("pattern", f"give either {key} or pattern, not both")
        return "none", None, None
    if not given:
        return "none", None, None
    source = body[given[0]]
    try:
        if given[0] == "pattern":
            pattern = source
            kind = "pattern"
        elif dialect == "cxone":
            pattern, kind = filters_to_pattern(source), "filters"
        else:
            if not isinstance(source, str):
                raise PatternError("filter", "must be an expression string")
            pattern, kind = expression_to_pattern(source), "expression"
        compile_pattern(pattern)
    except PatternError as exc:
        errors.add(_error_field(given[0], exc), exc.reason)
        return "none", None, None
    return kind, source, pattern


def _error_field(key: str, exc: PatternError) -> str:
    path = exc.path or ""
    if path.startswith(key):
        return path
    return f"{key}.{path}" if path and not path.startswith("[") else f"{key}{path}"


def render_subscription(sub: Subscription, *, with_secret: bool = False) -> dict[str, Any]:
    """The resource in the dialect it was created in; the full secret only when just created."""
    body: dict[str, Any] = {
        "id": sub.id,
        **sub.request,
        "state": sub.state,
        "createdDate": sub.created_at,
        "updatedDate": sub.updated_at,
    }
    if with_secret:
        body["secret"] = sub.secret
    else:
        body["secretHint"] = sub.secret[:10] + "..." if sub.secret else None
    return body


def with_state(sub: Subscription, state: str) -> Subscription:
    return replace(sub, state=state)
