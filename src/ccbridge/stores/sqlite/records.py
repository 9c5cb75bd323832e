"""Rows <-> core types. Kept apart from the SQL so PostgreSQL can share the same encoding."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from ccbridge.core.event import DeadLetterSpec, EndpointSpec, Event, RetrySpec, Subscription


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def subscription_to_doc(sub: Subscription) -> str:
    return dumps(asdict(sub))


def subscription_from_doc(doc: str | bytes) -> Subscription:
    raw: dict[str, Any] = orjson.loads(doc)
    raw["event_types"] = tuple(raw["event_types"])
    raw["endpoints"] = tuple(EndpointSpec(**e) for e in raw["endpoints"])
    raw["retry"] = RetrySpec(**raw["retry"])
    raw["dead_letter"] = DeadLetterSpec(**raw["dead_letter"])
    return Subscription(**raw)


EVENT_COLUMNS = (
    "id, type, source, time, data, dialect, correlation_id, received_at, idempotency_key, metadata"
)


def event_params(event: Event) -> tuple[Any, ...]:
    return (
        event.id,
        event.type,
        dumps(event.source),
        event.time,
        dumps(event.data),
        event.dialect,
        event.correlation_id,
        event.received_at,
        event.idempotency_key,
        dumps(event.metadata),
    )


def event_from_row(row: tuple[Any, ...]) -> Event:
    return Event(
        id=row[0],
        type=row[1],
        source=orjson.loads(row[2]),
        time=row[3],
        data=orjson.loads(row[4]),
        dialect=row[5],
        correlation_id=row[6],
        received_at=row[7],
        idempotency_key=row[8],
        metadata=orjson.loads(row[9]),
    )
