"""Published event bodies in either dialect -> the fields of an Event.

CXone (seed 004): `{eventType, attributes, timestamp}`; Genesys (seed 003): `{eventType,
eventTime, source, data}`, whose types must start with `custom.`. Times must be RFC 3339.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ccbridge.core.validation import Errors, is_rfc3339
from ccbridge.errors import InputError

CXONE_KEYS = {"eventType", "attributes", "timestamp"}
GENESYS_KEYS = {"eventType", "eventTime", "source", "data"}


@dataclass(frozen=True, slots=True)
class Envelope:
    """The dialect-neutral content of a published event, before it gets an id."""

    type: str
    time: str
    source: Any
    data: Any
    dialect: str


def parse_event_body(body: Any, known_type: Callable[[str], bool], default_source: str) -> Envelope:
    """Validate a published event; raises InputError listing every field at fault."""
    if not isinstance(body, dict):
        raise InputError([], title="the body must be a JSON object")
    errors = Errors()
    genesys = bool(body.keys() & {"eventTime", "data", "source"}) and not body.keys() & {
        "attributes",
        "timestamp",
    }
    event_type = errors.string(body, "eventType", "eventType", max_len=256)
    if genesys:
        errors.unknown(body, GENESYS_KEYS)
        if event_type is not None and not event_type.startswith("custom."):
            errors.add("eventType", "must start with custom. (custom.vendor.category.action)")
        time_value, time_key = body.get("eventTime"), "eventTime"
        data = body.get("data")
        if not isinstance(data, dict):
            errors.add("data", "is required and must be an object")
        source = body.get("source")
        if not isinstance(source, (str, dict)) or not source:
            errors.add("source", "is required: a string or an object such as {system, version}")
    else:
        errors.unknown(body, CXONE_KEYS)
        if event_type is not None and not known_type(event_type):
            errors.add("eventType", f"unknown event type {event_type!r}")
        time_value, time_key = body.get("timestamp"), "timestamp"
        data = body.get("attributes")
        if not isinstance(data, dict):
            errors.add("attributes", "is required and must be an object")
        source = default_source
    if time_value is None:
        errors.add(time_key, "is required (RFC 3339, e.g. 2026-01-31T12:00:00Z)")
    elif not is_rfc3339(time_value):
        errors.add(time_key, "must be an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z")
    if errors:
        raise InputError(errors.items)
    return Envelope(event_type or "", str(time_value), source, data, "genesys" if genesys else "cxone")
