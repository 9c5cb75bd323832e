"""Rows <-> core types, shared by every SQL store (SQLite and PostgreSQL encode rows the same way)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

import orjson

from ccbridge.core.event import DeadLetterSpec, EndpointSpec, Event, RetrySpec, Subscription
from ccbridge.core.ports import DeadLetter, DeliveryCounts, Settlement
from ccbridge.core.times import iso, iso_or_none


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def subscription_to_doc(sub: Subscription) -> str:
    return dumps(asdict(sub))


def subscription_from_doc(doc: str | bytes) -> Subscription:
    raw: dict[str, Any] = orjson.loads(doc)
    raw["event_types"] = tuple(raw["event_types"])
    raw["endpoints"] = tuple(_endpoint_from_doc(e) for e in raw["endpoints"])
    raw["retry"] = RetrySpec(**raw["retry"])
    raw["dead_letter"] = DeadLetterSpec(**raw["dead_letter"])
    return Subscription(**raw)


def _endpoint_from_doc(raw: dict[str, Any]) -> EndpointSpec:
    """An endpoint as stored; documents written before endpoints had their own retries or rate
    limits have none."""
    retry = raw.get("retry")
    return EndpointSpec(
        raw["url"],
        raw["type"],
        rate_limit_per_second=raw.get("rate_limit_per_second"),
        retry=None if retry is None else RetrySpec(**retry),
    )


EVENT_COLUMNS = (
    "id, type, source, time, data, dialect, correlation_id, received_at, idempotency_key, metadata"
)
EVENT_COLUMNS_OF_E = ", ".join("e." + c.strip() for c in EVENT_COLUMNS.split(","))
"""`EVENT_COLUMNS` qualified for a join in which the events table is `e`."""


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


DEAD_COLUMNS = (
    "d.id, d.event_id, e.type, d.subscription_id, d.endpoint_url, d.endpoint_type, d.attempts,"
    " d.last_status, d.last_error, d.created_ts, d.dead_ts"
)
"""What `dead_letter_from_row` reads, from `deliveries d JOIN events e`."""


def dead_letter_from_row(row: Sequence[Any], event: dict[str, Any] | None = None) -> DeadLetter:
    """A row of `DEAD_COLUMNS` (and the event's document, when shown) as a DeadLetter."""
    return DeadLetter(
        id=row[0],
        event_id=row[1],
        event_type=row[2],
        subscription_id=row[3],
        endpoint_url=row[4],
        endpoint_type=row[5],
        attempts=row[6],
        last_status=row[7],
        reason=row[8],
        created_at=iso(row[9]),
        dead_at=iso_or_none(row[10]) or "",
        event=event,
    )


def forwarded_letter(s: Settlement, delivery: Sequence[Any], now: float) -> dict[str, Any]:
    """The payload queued for a subscription's dead-letter endpoint when `s` kills a delivery;
    `delivery` is (event id, subscription id, endpoint URL, endpoint type, created_ts, ...)."""
    return {
        "deadLetterId": s.delivery_id,
        "eventId": delivery[0],
        "subscriptionId": delivery[1],
        "endpointUrl": delivery[2],
        "endpointType": delivery[3],
        "attempts": s.attempt,
        "lastStatus": s.status,
        "reason": s.error,
        "createdAt": iso(delivery[4]),
        "deadAt": iso(now),
    }


SETTLE_COLUMNS = (
    "state = {}, attempts = {}, last_status = {}, last_error = {}, next_attempt_at = COALESCE({}, next_attempt_at),"
    " lease_owner = NULL, lease_until = NULL, updated_ts = {}, dead_ts = {} WHERE id = {} AND lease_owner = {}"
)
"""The SET and WHERE of settling one delivery; each store fills in its placeholders, in the order of
`settlement_params`."""


def settlement_params(s: Settlement, now: float, owner: str) -> tuple[Any, ...]:
    """The values of `SETTLE_COLUMNS` for `s`: a retry stays pending, a dead one records when it died."""
    return (
        "pending" if s.state == "retry" else s.state,
        s.attempt,
        s.status,
        s.error,
        s.next_attempt_at,
        now,
        now if s.state == "dead" else None,
        s.delivery_id,
        owner,
    )


def delivery_counts(
    groups: Iterable[Sequence[Any]],
    last: Sequence[Any] | None,
    success: float | None,
    recent_failures: int,
    backpressure: str | None,
) -> DeliveryCounts:
    """A subscription's delivery status from the stores' queries: `groups` are (state, retried,
    count) rows of its event deliveries (a pending one that was tried counts as retrying), `last` is
    (state, last_error, updated_ts) of the latest one tried, `success` the time of the latest
    delivered one."""
    counts = {"delivered": 0, "pending": 0, "retrying": 0, "dead": 0}
    for state, retried, n in groups:
        if state == "pending":
            counts["retrying" if retried else "pending"] += n
        elif state in counts:
            counts[state] += n
    return DeliveryCounts(
        delivered=counts["delivered"],
        pending=counts["pending"],
        retrying=counts["retrying"],
        dead_lettered=counts["dead"],
        last_error=None if last is None or last[0] == "delivered" else last[1],
        last_delivery_at=None if last is None else iso(last[2]),
        last_success_at=iso_or_none(success),
        last_success_ts=success,
        recent_failures=int(recent_failures),
        backpressure=backpressure,
    )
