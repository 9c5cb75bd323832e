"""Checks of the desired subscriptions before any request, each error with its config path.

Every problem is reported, not just the first, with paths like `subscriptions[2].endpoints[0].url`.
A subscription is in the Genesys dialect when it has `eventTypes` or `deliveryConfig`, else in the
CXone dialect; either may carry an event `pattern` and `labels`. The catalogue of event types is the
config's `event_types` (`custom.*` is always allowed); an empty catalogue allows any type.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from ccbridge.errors import FieldError

CXONE_KEYS = frozenset(
    {
        "name",
        "description",
        "eventType",
        "filters",
        "pattern",
        "endpoints",
        "deadLetterQueue",
        "retryConfiguration",
        "labels",
    }
)
GENESYS_KEYS = frozenset({"name", "eventTypes", "deliveryConfig", "filter", "pattern", "labels"})
ENDPOINT_TYPES = ("webhook", "grpc", "queue")
URL_SCHEMES = {"webhook": ("http", "https"), "grpc": ("grpc", "grpcs", "http", "https")}
QUEUE_SCHEMES = ("nats", "http", "https", "grpc", "grpcs")


def is_genesys(entry: dict[str, Any]) -> bool:
    return "eventTypes" in entry or "deliveryConfig" in entry


class _Checker:
    def __init__(self, catalogue: Collection[str], max_endpoints: int) -> None:
        self.catalogue, self.max_endpoints = frozenset(catalogue), max_endpoints
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def event_type(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or not value:
            self.fail(path, "must be a non-empty string")
        elif self.catalogue and not value.startswith("custom.") and value not in self.catalogue:
            self.fail(path, f"unknown event type {value!r} (not in event_types, and not custom.*)")

    def url(self, path: str, value: Any, schemes: Collection[str]) -> None:
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in schemes or not parts.hostname:
            self.fail(path, f"must be a URL with a host and scheme {'/'.join(schemes)}")

    def number(self, path: str, value: Any, *, required: bool = False) -> bool:
        if value is None and not required:
            return False
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            self.fail(path, "must be a non-negative number")
            return False
        return True

    def mapping(self, path: str, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if value is not None:
            self.fail(path, "must be a mapping")
        return {}

    def common(self, path: str, entry: dict[str, Any], allowed: frozenset[str]) -> None:
        for key in sorted(set(entry) - allowed):
            self.fail(f"{path}.{key}", "unknown key")
        if not isinstance(entry.get("name"), str) or not entry["name"].strip():
            self.fail(f"{path}.name", "required: a non-empty string")
        if "pattern" in entry and not isinstance(entry["pattern"], dict):
            self.fail(f"{path}.pattern", "must be an event pattern (a mapping)")
        labels = self.mapping(f"{path}.labels", entry.get("labels"))
        for key, value in labels.items():
            if not isinstance(value, str):
                self.fail(f"{path}.labels.{key}", "must be a string")

    def cxone(self, path: str, entry: dict[str, Any]) -> None:
        self.common(path, entry, CXONE_KEYS)
        self.event_type(f"{path}.eventType", entry.get("eventType"))
        for i, flt in enumerate(entry.get("filters") or []):
            for key in ("field", "operator"):
                if not isinstance(flt, dict) or not isinstance(flt.get(key), str):
                    self.fail(f"{path}.filters[{i}].{key}", "required: a string")
        endpoints = entry.get("endpoints")
        if not isinstance(endpoints, list) or not 1 <= len(endpoints) <= self.max_endpoints:
            self.fail(f"{path}.endpoints", f"must list 1 to {self.max_endpoints} endpoints")
            endpoints = endpoints if isinstance(endpoints, list) else []
        for i, endpoint in enumerate(endpoints):
            self.endpoint(f"{path}.endpoints[{i}]", endpoint)
        dlq = self.mapping(f"{path}.deadLetterQueue", entry.get("deadLetterQueue"))
        if "enabled" in dlq and not isinstance(dlq["enabled"], bool):
            self.fail(f"{path}.deadLetterQueue.enabled", "must be true or false")
        if dlq.get("endpointUrl"):
            self.url(f"{path}.deadLetterQueue.endpointUrl", dlq["endpointUrl"], ("http", "https"))
        self.number(f"{path}.deadLetterQueue.retentionDays", dlq.get("retentionDays"))
        self.retry(f"{path}.retryConfiguration", entry.get("retryConfiguration"))

    def endpoint(self, path: str, endpoint: Any) -> None:
        if not isinstance(endpoint, dict):
            self.fail(path, "must be a mapping with url and type")
            return
        kind = endpoint.get("type", "webhook")
        if kind not in ENDPOINT_TYPES:
            self.fail(f"{path}.type", f"must be one of {', '.join(ENDPOINT_TYPES)}")
            return
        self.url(f"{path}.url", endpoint.get("url"), URL_SCHEMES.get(kind, QUEUE_SCHEMES))

    def retry(self, path: str, raw: Any) -> None:
        retry = self.mapping(path, raw)
        strategy = retry.get("backoffStrategy")
        if strategy is not None and strategy not in ("exponential", "linear"):
            self.fail(f"{path}.backoffStrategy", "must be exponential or linear")
        self.number(f"{path}.maxRetries", retry.get("maxRetries"))
        initial = self.number(f"{path}.initialDelayMs", retry.get("initialDelayMs"))
        maximum = self.number(f"{path}.maxDelayMs", retry.get("maxDelayMs"))
        if initial and maximum and retry["initialDelayMs"] > retry["maxDelayMs"]:
            self.fail(f"{path}.initialDelayMs", "must not exceed maxDelayMs")

    def genesys(self, path: str, entry: dict[str, Any]) -> None:
        self.common(path, entry, GENESYS_KEYS)
        types = entry.get("eventTypes")
        if not isinstance(types, list) or not types:
            self.fail(f"{path}.eventTypes", "must list at least one event type")
        else:
            for i, value in enumerate(types):
                self.event_type(f"{path}.eventTypes[{i}]", value)
        delivery = entry.get("deliveryConfig")
        if not isinstance(delivery, dict):
            self.fail(f"{path}.deliveryConfig", "required: a mapping with deliveryType and url")
            return
        kind = str(delivery.get("deliveryType", "WEBHOOK")).lower()
        if kind not in ("webhook", "grpc"):
            self.fail(f"{path}.deliveryConfig.deliveryType", "must be WEBHOOK or GRPC")
        else:
            self.url(f"{path}.deliveryConfig.url", delivery.get("url"), URL_SCHEMES[kind])
        if "filter" in entry and not isinstance(entry["filter"], str):
            self.fail(f"{path}.filter", "must be a filter expression (a string)")


def validate_subscriptions(
    entries: list[Any], *, event_types: Collection[str] = (), max_endpoints: int = 10
) -> list[FieldError]:
    """Every problem of the desired subscriptions, in config order; [] when they are valid."""
    checker = _Checker(event_types, max_endpoints)
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        path = f"subscriptions[{i}]"
        if not isinstance(entry, dict):
            checker.fail(path, "must be a mapping")
            continue
        (checker.genesys if is_genesys(entry) else checker.cxone)(path, entry)
        name = entry.get("name")
        if isinstance(name, str) and name in seen:
            checker.fail(f"{path}.name", f"duplicate name {name!r} (also subscriptions[{seen[name]}])")
        elif isinstance(name, str):
            seen[name] = i
    return checker.errors
