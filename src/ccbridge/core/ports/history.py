"""Delivery history: what was received and what became of it. `DeliveryHistory` and its records
(attempts, deliveries, events), queries and pages.

Contracts: every attempt a settlement applies to is recorded in the settlement's commit (none for a
lease no longer held); attempts live as long as their delivery; pages are newest first and stable
under concurrent appends (a cursor names a position, so a page never repeats an item of the one
before); retrying a delivery queues it again due now with its attempt count reset, and refuses one
that is pending, cancelled or whose subscription is gone. The store-wide contract of
`ccbridge.core.ports` applies.

The records come first: `ports.deliveries` imports `AttemptDetail` from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from ccbridge.core.event import Event

AttemptOutcome = Literal["delivered", "retry", "failed", "dead"]
"""How one attempt ended: delivered; failed and to be retried; failed permanently (the endpoint's
answer says retrying cannot help: dead-lettered); failed with no retry left (dead-lettered)."""

DeliveryStatus = Literal["pending", "retrying", "delivered", "dead", "cancelled"]
"""A delivery's state as the API shows it: `retrying` is pending after a failed attempt."""


@dataclass(frozen=True, slots=True)
class AttemptDetail:
    """What a settlement adds to its attempt record: when the attempt began (epoch seconds), how it
    ended, how long the endpoint took (ms), the start of its answer (text, at most 4 KB) and what kind
    of failure it was. A settlement without one is recorded with what the settlement itself says."""

    outcome: AttemptOutcome
    started_at: float | None = None
    latency_ms: float | None = None
    response_body: str | None = None
    error_class: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One recorded attempt of a delivery. `endpoint_url` is as stored (the API masks it)."""

    id: int
    delivery_id: int
    attempt: int
    at: float
    endpoint_url: str
    endpoint_type: str
    outcome: str
    status: int | None
    latency_ms: float | None
    response_body: str | None
    error: str | None
    error_class: str | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One delivery as stored: where it goes, its state and its last outcome. Times in epoch seconds."""

    id: int
    event_id: str
    event_type: str
    subscription_id: str
    endpoint_url: str
    endpoint_type: str
    kind: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: float | None
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event, when it was received (epoch seconds), and how many of its deliveries are in
    each `DeliveryStatus` (event deliveries only; dead-letter forwards are not counted)."""

    event: Event
    received_ts: float
    deliveries: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which events to list: of `type`, received in [`from_ts`, `to_ts`) (epoch seconds), with a
    delivery to `subscription_id`; newest first, `limit` at a time, after the page ending at `cursor`."""

    type: str | None = None
    from_ts: float | None = None
    to_ts: float | None = None
    subscription_id: str | None = None
    limit: int = 100
    cursor: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    """Which deliveries of `subscription_id` to list: in `status`, created in [`from_ts`, `to_ts`);
    newest first, `limit` at a time, after the page ending at `cursor`."""

    subscription_id: str
    status: DeliveryStatus | None = None
    from_ts: float | None = None
    to_ts: float | None = None
    limit: int = 100
    cursor: int | None = None


@dataclass(frozen=True, slots=True)
class EventPage:
    """A page of events; `next_cursor` is None on the last page."""

    items: list[EventRecord]
    next_cursor: int | None


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    """A page of deliveries; `next_cursor` is None on the last page."""

    items: list[DeliveryRecord]
    next_cursor: int | None


class DeliveryHistory(Protocol):
    """What was received and what became of it: the reads behind the events, deliveries and attempts
    routes (and the dashboard), and retrying one delivery.

    Every attempt a settlement applies to is recorded in the settlement's own commit (a settlement of
    a lease no longer held records nothing). Attempts live as long as their delivery: whatever removes
    a delivery (history retention, dead-letter purge) removes its attempts with it. Pages are stable
    under concurrent appends: a cursor names a position, so a page never repeats an item of the page
    before it.
    """

    async def search_events(self, query: EventQuery) -> EventPage: ...

    async def event_with_deliveries(self, event_id: str) -> tuple[EventRecord, list[DeliveryRecord]] | None:
        """The event and every delivery it caused (dead-letter forwards included), oldest first."""
        ...

    async def list_deliveries(self, query: DeliveryQuery) -> DeliveryPage: ...

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord | None: ...

    async def delivery_attempts(self, delivery_id: int) -> list[AttemptRecord] | None:
        """Its attempts, oldest first; None when there is no such delivery."""
        ...

    async def retry_delivery(self, delivery_id: int) -> DeliveryRecord:
        """Queue a dead or delivered delivery again, due now with its attempt count reset (its recorded
        attempts stay). NotFoundError when it does not exist; ConflictError when it is pending already
        (nothing to do) or cancelled, or its subscription is gone."""
        ...
