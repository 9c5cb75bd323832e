"""Endpoint health records <-> the JSON document both SQL stores keep per endpoint, and the rule of
when a change wakes an endpoint's waiting deliveries (the same for every backend)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from ccbridge.core.endpoint_health import HealthRecord


def health_to_doc(record: HealthRecord) -> str:
    return orjson.dumps(asdict(record)).decode()


def health_from_doc(doc: str | bytes) -> HealthRecord:
    raw: dict[str, Any] = orjson.loads(doc)
    return HealthRecord(**raw)


def wakes(before: HealthRecord | None, after: HealthRecord) -> bool:
    """Whether the change from `before` to `after` makes the endpoint's waiting deliveries due now:
    it closed after being open or disabled (they go again), or it was just disabled (they become
    dead letters now rather than at the probe time they were given)."""
    was = "closed" if before is None else before.state
    return was != after.state and (after.state == "disabled" or was != "closed")


WAKE_SQL = (
    "UPDATE deliveries SET next_attempt_at = {0} WHERE subscription_id = {1} AND endpoint_url = {2}"
    " AND state = 'pending' AND lease_until IS NULL AND next_attempt_at > {0}"
)
"""Make an endpoint's pending, unleased deliveries due now; each store fills in its placeholders
(now, subscription id, URL)."""
