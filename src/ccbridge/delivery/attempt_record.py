"""What the attempt record keeps of one try, beyond the settlement's status and error. Pure: no I/O.

The dispatcher measures the endpoint call (`timed`) and hands the settlement its detail
(`with_detail`); the store writes the record in the settlement's own commit.
"""

from __future__ import annotations

import time
from dataclasses import replace

from ccbridge.core.event import Delivered, Failed, Outcome
from ccbridge.core.ports import AttemptDetail, AttemptOutcome, Settlement


def timed(outcome: Outcome, started: float) -> Outcome:
    """`outcome` with the call's latency in ms since `started` (a `time.perf_counter()` reading),
    unless the endpoint measured it itself."""
    if outcome.latency_ms is not None:
        return outcome
    return replace(outcome, latency_ms=round((time.perf_counter() - started) * 1000, 3))


def attempt_outcome(outcome: Outcome, settlement: Settlement) -> AttemptOutcome:
    """delivered; retry (another attempt is scheduled); failed (permanently: the answer says retrying
    cannot help); dead (retries exhausted)."""
    if settlement.state == "delivered":
        return "delivered"
    if settlement.state == "retry":
        return "retry"
    return "failed" if isinstance(outcome, Failed) else "dead"


def error_class(outcome: Outcome, endpoint_type: str) -> str | None:
    """The kind of failure: the endpoint's own word for it, else `http_status` for an answer with a
    status, else `<type>_error` (e.g. `grpc_error`). None for a delivery."""
    if isinstance(outcome, Delivered):
        return None
    if outcome.error_class is not None:
        return outcome.error_class
    return "http_status" if outcome.status is not None else f"{endpoint_type}_error"


def with_detail(
    settlement: Settlement, outcome: Outcome, started_at: float, endpoint_type: str
) -> Settlement:
    """`settlement` carrying its attempt's detail: begun at `started_at` (epoch seconds)."""
    detail = AttemptDetail(
        outcome=attempt_outcome(outcome, settlement),
        started_at=started_at,
        latency_ms=outcome.latency_ms,
        response_body=outcome.body,
        error_class=error_class(outcome, endpoint_type),
    )
    return replace(settlement, detail=detail)
