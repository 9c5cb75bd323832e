"""The ports: the few protocols the core needs from the outside world, with their contracts.

Adapters live in `stores/` and `endpoints/`; `bootstrap.py` constructs them. Every method is a
coroutine unless said otherwise and never blocks the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ccbridge.core.event import DeliveryJob, EndpointSpec, Event, Outcome, Subscription


class Clock(Protocol):
    """Wall-clock seconds since the epoch; injected so retry schedules are testable."""

    def now(self) -> float: ...


# --- endpoints ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    """Everything an endpoint adapter needs for one try; it never reads the store.

    `body` is the exact bytes to send (a webhook's body, a gRPC Event's payload); `headers` are
    already signed; `timeout` is the per-call deadline in seconds.
    """

    job: DeliveryJob
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0


class Endpoint(Protocol):
    """One transport (webhook, gRPC, queue).

    `send` is safe to call concurrently; it maps every failure of its library to an Outcome and
    never raises for a delivery problem (only for programming errors). It never persists anything.
    """

    async def send(self, attempt: Attempt) -> Outcome: ...

    async def aclose(self) -> None: ...


# --- the store ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What `append_event` did: `created` is False when the idempotency key was seen before and
    `event` is then the original event; `deliveries` counts the rows written with it."""

    event: Event
    created: bool
    deliveries: int = 0


@dataclass(frozen=True, slots=True)
class IdempotentRecord:
    """A stored API response, answered again for a repeated `Idempotency-Key` with the same body."""

    scope: str
    key: str
    body_hash: str
    status: int
    response: dict[str, Any]
    created_at: float


@dataclass(frozen=True, slots=True)
class Settlement:
    """How a leased delivery ended one attempt.

    `state` "delivered" and "dead" are final; "retry" re-queues it for `next_attempt_at` (epoch
    seconds). A "dead" settlement with `forward_to` also queues a dead-letter forward in the same
    transaction.
    """

    delivery_id: int
    state: Literal["delivered", "retry", "dead"]
    attempt: int
    status: int | None = None
    error: str | None = None
    next_attempt_at: float | None = None
    forward_to: EndpointSpec | None = None


@dataclass(frozen=True, slots=True)
class Backlog:
    """Deliveries not yet settled, for /metrics: `pending` counts every one (in flight and retries
    included), `retrying` those that failed an attempt, `oldest_due` is the earliest `next_attempt_at`
    among the due ones nobody holds (epoch seconds; None when none is waiting): the delivery lag."""

    pending: int = 0
    retrying: int = 0
    oldest_due: float | None = None


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """Per-subscription delivery counts and the last outcome, for delivery-status."""

    delivered: int = 0
    pending: int = 0
    retrying: int = 0
    dead_lettered: int = 0
    last_error: str | None = None
    last_delivery_at: str | None = None
    last_success_at: str | None = None
    last_success_ts: float | None = None
    recent_failures: int = 0
    waiting_reason: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A delivery that ran out of retries or failed permanently, with why and when."""

    id: int
    event_id: str
    event_type: str
    subscription_id: str
    endpoint_url: str
    endpoint_type: str
    attempts: int
    last_status: int | None
    reason: str | None
    created_at: str
    dead_at: str
    event: dict[str, Any] | None = None


class Router(Protocol):
    """Decides, inside the store's write transaction, which endpoints an event goes to.

    Called by the single writer with the subscriptions that exist at that moment, so a 2xx
    covers the deliveries too. Pure and synchronous.
    """

    def route(self, event: Event) -> list[tuple[str, EndpointSpec]]: ...

    def replace(self, subscriptions: Sequence[Subscription]) -> None: ...


class Store(Protocol):
    """Durable state: events, subscriptions, deliveries (the outbox), idempotency records.

    Contract: a method that returns has committed durably (fsync'd); writes are serialized, so
    `append_event` sees every subscription committed before it. Safe to call from many tasks.
    """

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def secret(self, name: str, factory_bytes: int = 32) -> bytes:
        """A named random secret, created once and shared by every replica of this store."""
        ...

    async def append_event(self, event: Event) -> AppendResult: ...

    async def get_event(self, event_id: str) -> Event | None: ...

    async def create_subscription(
        self, sub: Subscription, max_subscriptions: int, idem: IdempotentRecord | None = None
    ) -> Subscription: ...

    async def update_subscription(self, sub: Subscription, idem: IdempotentRecord | None = None) -> None: ...

    async def delete_subscription(self, sub_id: str) -> bool: ...

    async def get_subscription(self, sub_id: str) -> Subscription | None: ...

    async def list_subscriptions(self) -> list[Subscription]: ...

    async def get_idempotent(self, scope: str, key: str, max_age: float) -> IdempotentRecord | None: ...

    async def lease(
        self, owner: str, limit: int, lease_seconds: float, exclude_endpoints: Sequence[str] = ()
    ) -> list[DeliveryJob]:
        """Claim up to `limit` due deliveries for `lease_seconds`; an expired lease is claimable again,
        so a crashed worker's deliveries are retried. Endpoints in `exclude_endpoints` are skipped
        (they are saturated), so a slow endpoint never takes every slot."""
        ...

    async def next_due(self) -> float | None: ...

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None: ...

    async def renew(self, owner: str, delivery_ids: Sequence[int], lease_seconds: float) -> int:
        """Extend the leases `owner` still holds on `delivery_ids` to `lease_seconds` from now; returns
        how many. A live worker renews what it is working on well before expiry, so only a dead
        worker's leases (or one whose settlement failed to commit) ever expire."""
        ...

    async def delivery_counts(self, sub_id: str) -> DeliveryCounts: ...

    async def backlog(self) -> Backlog: ...

    async def list_dead_letters(
        self, subscription_id: str | None = None, limit: int = 100
    ) -> list[DeadLetter]: ...

    async def get_dead_letter(self, delivery_id: int) -> DeadLetter | None: ...

    async def replay_dead_letters(
        self, ids: Sequence[int] | None = None, subscription_id: str | None = None
    ) -> int: ...

    async def purge_dead_letters(self, older_than: float | None = None) -> int: ...
