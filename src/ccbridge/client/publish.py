"""Publishing custom business events (seed 004): validate, key, correlate, send once.

Contract:
* `data` is checked against the JSON Schema (2020-12, formats checked) registered for the type in
  `publish.event_types`; EVERY violation is raised at once as `InputError` with paths under `data`,
  and nothing is sent.
* The idempotency key is `uuid5(NAMESPACE_DNS, f"{type}:{data[business_key]}")`, exactly seed 004's
  `uuidv5(`${eventType}:${businessKey}`, NAMESPACE_DNS)`: a re-publish of the same business
  transaction, from any process, is de-duplicated by the server (it answers 200 with the original).
* The correlation id (argument, else the one of `ccbridge.client.api.correlation`, else a new UUID)
  goes in `X-Correlation-Id` and in `attributes._correlationId`, next to `attributes._publishedAt`.
* The body is the CXone dialect `{eventType, attributes, timestamp}`; `timestamp` is
  `data["timestamp"]` when it is a string (seed 004), else the publish time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ccbridge.client.api import BridgeClient, current_correlation
from ccbridge.client.config import PublishConfig, PublishTypeConfig
from ccbridge.core.schemas import CompiledSchema, load_schema
from ccbridge.errors import ConfigError, FieldError, InputError


@dataclass(frozen=True, slots=True)
class PublishResult:
    """One published event: the server's id, the key it was sent with, whether the server had it."""

    event_id: str
    idempotency_key: str
    duplicate: bool
    correlation_id: str


def event_key(event_type: str, business_value: Any) -> str:
    """Seed 004's deterministic key for one business transaction of one type."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{event_type}:{business_value}"))


@lru_cache(maxsize=64)
def _schema(path: str, mtime_ns: int, config_key: str) -> CompiledSchema:
    return load_schema(path, config_key)


def _type_config(config: PublishConfig, event_type: str) -> PublishTypeConfig:
    found = config.event_types.get(event_type)
    if found is None:
        known = ", ".join(sorted(config.event_types)) or "none"
        raise ConfigError("publish.event_types", f"no schema registered for {event_type!r} (known: {known})")
    return found


def check(config: PublishConfig, event_type: str, data: Any) -> str:
    """Validates `data` for `event_type` and returns its idempotency key; raises InputError/ConfigError."""
    spec = _type_config(config, event_type)
    key_path = f"publish.event_types.{event_type}.schema"
    file = Path(spec.schema_)
    try:
        mtime = file.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(key_path, f"cannot read schema file {file}: {exc.strerror}") from exc
    errors = _schema(str(file), mtime, key_path).errors(data, root="data")
    if not errors and (not isinstance(data, dict) or data.get(spec.business_key) is None):
        errors = [FieldError(f"data.{spec.business_key}", "required: it is the business key")]
    if errors:
        raise InputError(errors, title=f"invalid {event_type} event")
    return event_key(event_type, data[spec.business_key])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_event(
    event_type: str, data: dict[str, Any], correlation_id: str, published_at: str
) -> dict[str, Any]:
    """The CXone-dialect body (seed 004's `attachTracingMetadata` applied)."""
    attributes = {**data, "_correlationId": correlation_id, "_publishedAt": published_at}
    timestamp = data.get("timestamp")
    return {
        "eventType": event_type,
        "attributes": attributes,
        "timestamp": timestamp if isinstance(timestamp, str) else published_at,
    }


async def publish(
    client: BridgeClient,
    event_type: str,
    data: Any,
    *,
    config: PublishConfig,
    correlation_id: str | None = None,
) -> PublishResult:
    """Validates and publishes one event with retries; `duplicate` is True for a key seen before."""
    key = check(config, event_type, data)
    cid = correlation_id or current_correlation() or str(uuid.uuid4())
    event = build_event(event_type, data, cid, _now())
    reply = await client.publish_event(event, idempotency_key=key, correlation_id=cid)
    body = reply.body if isinstance(reply.body, dict) else {}
    return PublishResult(str(body.get("id", "")), key, reply.status == 200, cid)
