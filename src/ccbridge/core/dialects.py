"""The two subscription dialects at the edge: CXone and Genesys bodies <-> Subscription.

CXone (seed 001): `{name, description, eventType, filters, endpoints, deadLetterQueue,
retryConfiguration}`. Genesys (seed 002): `{name, description, eventTypes, deliveryConfig, filter}`.
Both may carry `pattern` (an EventBridge pattern), `labels` (a string map; `managed-by` marks what a
declarative apply owns) and `secret` (`whsec_...`; generated when absent).

Contract:
* `validate_subscription` is the one check of a body. It is pure (no id, clock, secret generation
  or store), so the server's create and replace and the client's plan call the same function and
  refuse exactly the same bodies. It raises `InputError` listing every field at fault by its path
  (`endpoints[1].url`, `deliveryConfig.deliveryType`, `filters[0].operator`).
* Endpoint types and their URL schemes are ARCHITECTURE.md's in both dialects: `webhook` (http,
  https), `grpc` (grpc, grpcs), `queue` (nats, tls, amqp). Genesys names the type in `deliveryType`
  (`WEBHOOK`, `GRPC`, `QUEUE`, any case), CXone in each endpoint's `type` (default `webhook`).
* `parse_subscription` adds what the server assigns: the id, the dates, and a secret when none was
  given (a replace keeps the existing one).
* `render_subscription` answers with the body as sent (normalized) plus `SERVER_FIELDS`. A body may
  carry those fields, so a fetched resource can be sent back; they are ignored. A plan ignores them
  when it compares a declaration with the server's resource.
* Credentials are never answered (`core.redact`): `core.subscription_masks.mask_body` masks the endpoint URLs' credentials
  (`endpoints[].url`, `deadLetterQueue.endpointUrl`, `deliveryConfig.url`) and the sensitive
  `deliveryConfig.headers`, for every caller, the create answer too. A replace that sends a masked
  value back keeps the stored one (`core.subscription_masks.restore_masked`), so a fetched resource can be sent back
  without losing its credentials; a masked value with nothing stored behind it is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ccbridge.core.event import (
    DeadLetterSpec,
    Dialect,
    EndpointSpec,
    EndpointType,
    RetrySpec,
    Subscription,
)
from ccbridge.core.redact import MASK, has_masked_credential
from ccbridge.core.rules import PatternError, compile_pattern, expression_to_pattern, filters_to_pattern
from ccbridge.core.signatures import generate_secret, is_valid_secret
from ccbridge.core.subscription_masks import mask_body, restore_masked
from ccbridge.core.validation import Errors, url_problem
from ccbridge.errors import InputError

SERVER_FIELDS = frozenset({"id", "state", "createdDate", "updatedDate", "secret", "secretHint"})
"""What `render_subscription` adds to the body as sent: assigned by the server, never a difference."""

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
GENESYS_FIELDS = frozenset(
    {"name", "description", "eventTypes", "deliveryConfig", "filter", "pattern", "secret", "labels"}
    | SERVER_FIELDS
)
ENDPOINT_SCHEMES: dict[str, tuple[str, ...]] = {
    "webhook": ("http", "https"),
    "grpc": ("grpc", "grpcs"),
    "queue": ("nats", "tls", "amqp"),
}
FilterKind = Literal["none", "pattern", "filters", "expression"]


@dataclass(frozen=True, slots=True)
class Limits:
    """What a subscription may hold; `known_type` says whether an event type is in the catalogue."""

    max_endpoints: int
    known_type: Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """A valid body in dialect-neutral form: a `Subscription` but for what the server assigns.

    `secret` is the one the body gave, or None. `request` is the body as it will be stored and
    answered: server fields and the secret removed, CXone's endpoints, retry and dead-letter
    settings with their defaults filled in.
    """

    dialect: Dialect
    name: str
    description: str
    event_types: tuple[str, ...]
    endpoints: tuple[EndpointSpec, ...]
    secret: str | None
    labels: dict[str, str]
    headers: dict[str, str]
    retry: RetrySpec
    dead_letter: DeadLetterSpec
    filter_kind: FilterKind
    filter_source: Any
    pattern: dict[str, Any] | None
    request: dict[str, Any]


def detect_dialect(body: dict[str, Any]) -> Dialect | None:
    """Genesys when the body has `eventTypes` or `deliveryConfig`, CXone when `eventType` or `endpoints`."""
    if "eventTypes" in body or "deliveryConfig" in body:
        return "genesys"
    if "eventType" in body or "endpoints" in body:
        return "cxone"
    return None


@dataclass(frozen=True, slots=True)
class _Delivery:
    """The dialect-specific part of a body, checked."""

    event_types: tuple[str, ...]
    endpoints: tuple[EndpointSpec, ...]
    retry: RetrySpec
    dead_letter: DeadLetterSpec
    headers: dict[str, str]
    normalized: dict[str, Any]


def validate_subscription(body: Any, limits: Limits) -> SubscriptionSpec:
    """Check a create/replace body in either dialect; raises InputError listing every field at fault."""
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
    secret = _secret(body, errors)
    if dialect == "cxone":
        errors.unknown(body, CXONE_FIELDS)
        delivery = _cxone(body, errors, limits)
    else:
        errors.unknown(body, GENESYS_FIELDS)
        delivery = _genesys(body, errors, limits)
    kind, source, pattern = _filter(body, dialect, errors)
    if errors:
        raise InputError(errors.items)
    request = {k: v for k, v in body.items() if k not in SERVER_FIELDS}
    request.update(delivery.normalized)
    return SubscriptionSpec(
        dialect=dialect,
        name=name or "",
        description=description,
        event_types=delivery.event_types,
        endpoints=delivery.endpoints,
        secret=secret,
        labels=labels,
        headers=delivery.headers,
        retry=delivery.retry,
        dead_letter=delivery.dead_letter,
        filter_kind=kind,
        filter_source=source,
        pattern=pattern,
        request=request,
    )


def parse_subscription(
    body: Any, limits: Limits, *, sub_id: str, now: str, existing: Subscription | None = None
) -> Subscription:
    """`validate_subscription`, then what the server assigns: `sub_id`, dates, a secret if none given.

    A replace (`existing` given) keeps the existing creation date and, unless the body gives a new
    one, the existing secret, and the stored credential behind each masked one (`core.subscription_masks.restore_masked`).
    """
    spec = validate_subscription(body if existing is None else restore_masked(body, existing), limits)
    secret = spec.secret or (existing.secret if existing is not None else generate_secret())
    keeps_rotation = existing is not None and secret == existing.secret  # a rotation's grace goes on
    return Subscription(
        id=sub_id,
        name=spec.name,
        dialect=spec.dialect,
        event_types=spec.event_types,
        endpoints=spec.endpoints,
        secret=secret,
        created_at=existing.created_at if existing is not None else now,
        updated_at=now,
        description=spec.description,
        filter_kind=spec.filter_kind,
        filter_source=spec.filter_source,
        pattern=spec.pattern,
        headers=spec.headers,
        retry=spec.retry,
        dead_letter=spec.dead_letter,
        labels=spec.labels,
        request=spec.request,
        previous_secret=existing.previous_secret if existing is not None and keeps_rotation else "",
        previous_secret_expires_at=(
            existing.previous_secret_expires_at if existing is not None and keeps_rotation else None
        ),
    )


def _secret(body: dict[str, Any], errors: Errors) -> str | None:
    given = body.get("secret")
    if given is None:
        return None
    if not isinstance(given, str) or not is_valid_secret(given):
        errors.add("secret", "must be whsec_ followed by the base64 of 24 to 64 random bytes")
        return None
    return given


def _masked_url_problem(url: Any, schemes: tuple[str, ...]) -> str | None:
    problem = url_problem(url, schemes)
    if problem is None and has_masked_credential(url):
        return f"holds a masked credential ({MASK!r}): give the credential itself"
    return problem


def _endpoint(
    url: Any, kind: EndpointType, path: str, errors: Errors, rate: int | None = None
) -> EndpointSpec | None:
    problem = _masked_url_problem(url, ENDPOINT_SCHEMES[kind])
    if problem:
        errors.add(f"{path}.url", problem)
        return None
    return EndpointSpec(url, kind, None if rate is None else float(rate))


MAX_RATE_LIMIT = 100_000


def _rate_limit(raw: dict[str, Any], path: str, errors: Errors) -> int | None:
    """`rateLimitPerSecond`: deliveries per second to the endpoint (an integer, 1..100000), or None."""
    if raw.get("rateLimitPerSecond") is None:
        return None
    return errors.integer(
        raw, "rateLimitPerSecond", f"{path}.rateLimitPerSecond", 1, low=1, high=MAX_RATE_LIMIT
    )


def _endpoint_type(value: Any) -> EndpointType | None:
    if isinstance(value, str) and value in ENDPOINT_SCHEMES:
        return value  # type: ignore[return-value]
    return None


def _cxone(body: dict[str, Any], errors: Errors, limits: Limits) -> _Delivery:
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
            errors.unknown(raw, {"url", "type", "rateLimitPerSecond"}, prefix=f"{path}.")
            kind = _endpoint_type(raw.get("type", "webhook"))
            if kind is None:
                errors.add(f"{path}.type", "must be webhook, grpc or queue")
                continue
            spec = _endpoint(raw.get("url"), kind, path, errors, _rate_limit(raw, path, errors))
            if spec is not None:
                endpoints.append(spec)
    retry = _retry(errors.obj(body, "retryConfiguration", "retryConfiguration"), errors)
    dead = _dead_letter(errors.obj(body, "deadLetterQueue", "deadLetterQueue"), errors)
    normalized = {
        "endpoints": [_render_endpoint(e) for e in endpoints],
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
    return _Delivery((event_type or "",), tuple(endpoints), retry, dead, {}, normalized)


def _render_endpoint(endpoint: EndpointSpec) -> dict[str, Any]:
    body: dict[str, Any] = {"url": endpoint.url, "type": endpoint.type}
    if endpoint.rate_limit_per_second is not None:
        body["rateLimitPerSecond"] = int(endpoint.rate_limit_per_second)
    return body


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
        problem = _masked_url_problem(url, ("http", "https"))
        if problem:
            errors.add(f"{path}.endpointUrl", problem)
            url = None
    days = errors.integer(raw, "retentionDays", f"{path}.retentionDays", 14, low=1, high=3650)
    return DeadLetterSpec(enabled, url if enabled else None, days)


def _genesys(body: dict[str, Any], errors: Errors, limits: Limits) -> _Delivery:
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
        errors.unknown(
            config, {"deliveryType", "url", "headers", "rateLimitPerSecond"}, prefix="deliveryConfig."
        )
        kind = _endpoint_type(str(config.get("deliveryType", "WEBHOOK")).lower())
        rate = _rate_limit(config, "deliveryConfig", errors)
        if kind is None:
            errors.add("deliveryConfig.deliveryType", "must be WEBHOOK, GRPC or QUEUE")
        else:
            endpoint = _endpoint(config.get("url"), kind, "deliveryConfig", errors, rate)
        headers = errors.string_map(config, "headers", "deliveryConfig.headers")
        for name, value in headers.items():
            if value == MASK:
                errors.add(f"deliveryConfig.headers.{name}", f"is masked ({MASK!r}): give the value itself")
    endpoints = (endpoint,) if endpoint else ()
    return _Delivery(tuple(event_types), endpoints, RetrySpec(), DeadLetterSpec(), headers, {})


def _filter(
    body: dict[str, Any], dialect: str, errors: Errors
) -> tuple[FilterKind, Any, dict[str, Any] | None]:
    """The subscription's filter in whichever form it came, compiled to one event pattern."""
    key = "filters" if dialect == "cxone" else "filter"
    given = [k for k in (key, "pattern") if body.get(k) not in (None, [], "")]
    if len(given) > 1:
        errors.add("pattern", f"give either {key} or pattern, not both")
        return "none", None, None
    if not given:
        return "none", None, None
    source = body[given[0]]
    kind: FilterKind
    try:
        if given[0] == "pattern":
            pattern, kind = source, "pattern"
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
        **mask_body(sub.request),
        "state": sub.state,
        "createdDate": sub.created_at,
        "updatedDate": sub.updated_at,
    }
    if with_secret:
        body["secret"] = sub.secret
    else:
        body["secretHint"] = sub.secret[:10] + "..." if sub.secret else None
    return body
