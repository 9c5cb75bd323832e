"""Checks of the declared subscriptions before any request, each error with its config path.

Contract:
* Each declaration is checked as the body apply would send (the declaration plus the managed-by
  label, as JSON) by the server's own parser, `core.dialects.validate_subscription`, against the
  limits the config states (`limits.max_endpoints`, the `event_types` catalogue). So a plan refuses
  exactly what the server's create would refuse, with the same messages, each field named under
  its entry: `subscriptions[2].endpoints[0].url`.
* On top, only what a declaration file can get wrong and a single request cannot: an entry that is
  not a mapping or cannot be sent as JSON (a YAML key that is not a string), and a name declared
  twice (the plan matches subscriptions by name).
* Every problem is reported, in config order, not just the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ccbridge.client.api import canonical_json
from ccbridge.client.plan import desired_payload
from ccbridge.core.dialects import Limits, validate_subscription
from ccbridge.errors import FieldError, InputError


def as_sent(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as the server receives it: through JSON, so YAML dates are strings, as sent.

    Raises `orjson.JSONEncodeError` (a TypeError) for what JSON cannot carry.
    """
    sent: dict[str, Any] = orjson.loads(canonical_json(entry))
    return sent


def _check(path: str, entry: Any, limits: Limits) -> list[FieldError]:
    if not isinstance(entry, dict):
        return [FieldError(path, "must be a mapping")]
    try:
        body = as_sent(desired_payload(entry))
    except orjson.JSONEncodeError as exc:
        return [FieldError(path, f"cannot be sent as JSON: {exc}")]
    try:
        validate_subscription(body, limits)
    except InputError as exc:
        return [FieldError(f"{path}.{e.field}" if e.field else path, e.message) for e in exc.errors]
    return []


def validate_subscriptions(entries: Sequence[Any], limits: Limits) -> list[FieldError]:
    """Every problem of the declared subscriptions, in config order; [] when they are valid."""
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        path = f"subscriptions[{i}]"
        errors += _check(path, entry, limits)
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name in seen:
            errors.append(
                FieldError(f"{path}.name", f"duplicate name {name!r} (also subscriptions[{seen[name]}])")
            )
        elif isinstance(name, str):
            seen[name] = i
    return errors
