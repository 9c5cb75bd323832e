"""The Genesys dialect's own fields (seed 002): `eventTypes` and `deliveryConfig`.

A body is `{name, description, eventTypes, deliveryConfig, filter, deadLetterQueue,
retryConfiguration}` (plus `pattern`, `labels`, `secret`). `deliveryConfig` is one target or a list
of them (seed 002's fan-out to several gRPC consumers is one subscription), each `{deliveryType, url,
headers, retryConfiguration, rateLimitPerSecond}`; `deliveryType` is `WEBHOOK`, `GRPC`, `QUEUE`,
`CXONE_SIGNAL` or `CXONE-SIGNAL`, in any case. Every target of one subscription sends the same
`headers` (the subscription's), and a masked header value is refused. The body is stored as sent.
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
    retry_spec,
)
from ccbridge.core.event import EndpointSpec
from ccbridge.core.redact import MASK
from ccbridge.core.validation import Errors

GENESYS_FIELDS = frozenset(
    {
        "name",
        "description",
        "eventTypes",
        "deliveryConfig",
        "filter",
        "pattern",
        "secret",
        "labels",
        "deadLetterQueue",
        "retryConfiguration",
    }
    | SERVER_FIELDS
)
GENESYS_TARGET_FIELDS = frozenset(
    {"deliveryType", "url", "headers", "retryConfiguration", "rateLimitPerSecond"}
)


def genesys_part(body: dict[str, Any], errors: Errors, limits: Limits) -> DialectPart:
    """The event types, targets, their headers, retry and dead-letter settings of a Genesys body."""
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
    endpoints: list[EndpointSpec] = []
    headers: dict[str, str] = {}
    if isinstance(config, dict):
        endpoints, headers = _targets([config], ["deliveryConfig"], errors, limits)
    elif isinstance(config, list) and config:
        if len(config) > limits.max_endpoints:
            errors.add("deliveryConfig", f"must hold at most {limits.max_endpoints} targets")
        else:
            paths = [f"deliveryConfig[{i}]" for i in range(len(config))]
            endpoints, headers = _targets(config, paths, errors, limits)
    else:
        errors.add("deliveryConfig", "is required: {deliveryType, url, headers} or a list of them")
    retry = retry_spec(errors.obj(body, "retryConfiguration", "retryConfiguration"), errors)
    dead = dead_letter_spec(errors.obj(body, "deadLetterQueue", "deadLetterQueue"), errors)
    return DialectPart(tuple(event_types), tuple(endpoints), retry, dead, headers, {})


def _targets(
    targets: list[Any], paths: list[str], errors: Errors, limits: Limits
) -> tuple[list[EndpointSpec], dict[str, str]]:
    """Each `deliveryConfig` target checked; the headers they all send (they must agree, since a
    header such as `Authorization` meant for one target must never reach another)."""
    endpoints: list[EndpointSpec] = []
    shared: dict[str, str] | None = None
    for config, path in zip(targets, paths, strict=True):
        if not isinstance(config, dict):
            errors.add(path, "must be an object {deliveryType, url, headers}")
            continue
        errors.unknown(config, GENESYS_TARGET_FIELDS, prefix=f"{path}.")
        kind = endpoint_type(str(config.get("deliveryType", "WEBHOOK")).lower().replace("_", "-"))
        rate = rate_limit(config, path, errors)
        retry = own_retry(config, path, errors)
        if kind is None:
            errors.add(f"{path}.deliveryType", "must be WEBHOOK, GRPC, QUEUE or CXONE_SIGNAL")
        elif (spec := endpoint_spec(config.get("url"), kind, path, errors, limits, rate, retry)) is not None:
            endpoints.append(spec)
        headers = errors.string_map(config, "headers", f"{path}.headers")
        for name, value in headers.items():
            if value == MASK:
                errors.add(f"{path}.headers.{name}", f"is masked ({MASK!r}): give the value itself")
        if shared is None:
            shared = headers
        elif headers != shared:
            errors.add(f"{path}.headers", "every target of one subscription sends the same headers")
    return endpoints, shared or {}
