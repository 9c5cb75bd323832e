"""Rows <-> the delivery-history and replay types, shared by both SQL stores (one encoding of each).

Column lists name their table aliases: `d` deliveries, `e` events, `a` delivery_attempts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from ccbridge.core.ports import (
    AttemptRecord,
    DeliveryRecord,
    ReplayJob,
    ReplaySpec,
    Settlement,
)
from ccbridge.errors import ConflictError, NotFoundError
from ccbridge.stores.records import dumps

ATTEMPT_INSERT = (
    "INSERT INTO delivery_attempts(delivery_id, attempt, at, endpoint_url, endpoint_type, outcome, status,"
    " latency_ms, response_body, error, error_class)"
)
"""The attempt record's columns, in the order of `attempt_params` (after the delivery's own id)."""

_STATE_OUTCOME = {"delivered": "delivered", "retry": "retry", "dead": "dead"}


def attempt_params(s: Settlement, now: float) -> tuple[Any, ...]:
    """(attempt, at, outcome, status, latency_ms, response_body, error, error_class) of `s`'s record:
    its detail where it has one, else what the settlement says (settled `now`)."""
    d = s.detail
    outcome = d.outcome if d is not None else _STATE_OUTCOME[s.state]
    return (
        s.attempt,
        d.started_at if d is not None and d.started_at is not None else now,
        outcome,
        s.status,
        None if d is None else d.latency_ms,
        None if d is None else d.response_body,
        None if s.state == "delivered" else s.error,
        None if d is None else d.error_class,
    )


ATTEMPT_COLUMNS = (
    "a.id, a.delivery_id, a.attempt, a.at, a.endpoint_url, a.endpoint_type, a.outcome, a.status,"
    " a.latency_ms, a.response_body, a.error, a.error_class"
)


def attempt_from_row(row: Sequence[Any]) -> AttemptRecord:
    return AttemptRecord(*row[:12])


DELIVERY_COLUMNS = (
    "d.id, d.event_id, coalesce(e.type, ''), d.subscription_id, d.endpoint_url, d.endpoint_type, d.kind,"
    " d.state, d.attempts, d.last_status, d.last_error, d.next_attempt_at, d.created_ts, d.updated_ts"
)
"""What `delivery_from_row` reads, from `deliveries d LEFT JOIN events e ON e.id = d.event_id`."""


def status_of(state: str, attempts: int) -> str:
    """The API's status of a delivery row: a pending row that has failed an attempt is `retrying`."""
    return "retrying" if state == "pending" and attempts > 0 else state


def delivery_from_row(row: Sequence[Any]) -> DeliveryRecord:
    state, attempts = row[7], int(row[8])
    return DeliveryRecord(
        id=int(row[0]),
        event_id=row[1],
        event_type=row[2],
        subscription_id=row[3],
        endpoint_url=row[4],
        endpoint_type=row[5],
        kind=row[6],
        status=status_of(state, attempts),
        attempts=attempts,
        last_status=row[9],
        last_error=row[10],
        next_attempt_at=float(row[11]) if state == "pending" else None,
        created_at=float(row[12]),
        updated_at=float(row[13]),
    )


STATUS_SQL = {
    "pending": "d.state = 'pending' AND d.attempts = 0",
    "retrying": "d.state = 'pending' AND d.attempts > 0",
    "delivered": "d.state = 'delivered'",
    "dead": "d.state = 'dead'",
    "cancelled": "d.state = 'cancelled'",
}
"""The WHERE clause of each delivery status (constant SQL: the status is checked before use)."""


def count_statuses(rows: Iterable[Sequence[Any]]) -> dict[str, dict[str, int]]:
    """(event id, state, attempts > 0, count) rows -> per event, the count of each status."""
    counts: dict[str, dict[str, int]] = {}
    for event_id, state, retried, n in rows:
        status = "retrying" if state == "pending" and retried else state
        per = counts.setdefault(event_id, {})
        per[status] = per.get(status, 0) + int(n)
    return counts


REPLAY_COLUMNS = (
    "id, spec, state, total, scanned, matched, enqueued, skipped, error, created_ts, updated_ts, finished_ts"
)


def spec_to_doc(spec: ReplaySpec) -> str:
    return dumps(
        {
            "from_ts": spec.from_ts,
            "to_ts": spec.to_ts,
            "subscription_ids": list(spec.subscription_ids),
            "pattern": spec.pattern,
            "dry_run": spec.dry_run,
        }
    )


def replay_from_row(row: Sequence[Any]) -> ReplayJob:
    raw: dict[str, Any] = orjson.loads(row[1])
    spec = ReplaySpec(
        from_ts=float(raw["from_ts"]),
        to_ts=float(raw["to_ts"]),
        subscription_ids=tuple(raw.get("subscription_ids") or ()),
        pattern=raw.get("pattern"),
        dry_run=bool(raw.get("dry_run")),
    )
    return ReplayJob(
        id=row[0],
        spec=spec,
        state=row[2],
        total=int(row[3]),
        scanned=int(row[4]),
        matched=int(row[5]),
        enqueued=int(row[6]),
        skipped=int(row[7]),
        error=row[8],
        created_at=float(row[9]),
        updated_at=float(row[10]),
        finished_at=None if row[11] is None else float(row[11]),
    )


def check_retry(delivery_id: int, row: Sequence[Any] | None) -> None:
    """Raises why a delivery (its row's state and its subscription's id, None when gone) cannot be
    retried: there is none, it is pending already, it was cancelled or its subscription is gone."""
    if row is None:
        raise NotFoundError(f"no delivery with id {delivery_id}")
    state, subscription = row[0], row[1]
    if state == "pending":
        raise ConflictError(f"delivery {delivery_id} is pending already: it will be attempted when due")
    if state == "cancelled" or subscription is None:
        raise ConflictError(f"delivery {delivery_id} cannot be retried: its subscription is gone")
