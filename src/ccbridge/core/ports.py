"""The ports: the small protocols the core needs from the outside world, each with its contract.

Adapters live in `stores/` and `endpoints/`; `bootstrap.py` constructs them and everything else is
typed against the protocol it uses. The store is split by job: `EventLog` (events and their
idempotency), `IdempotencyRecords` (stored API answers), `SubscriptionStore`, `DeliveryQueue` (the
outbox: lease, renew, settle, release), `DeliveryReports`, `DeadLetterStore`, `Housekeeping` and `WriteHealth`;
`Store` is all of them plus a lifecycle, which is what a backend implements and what
`tests/contract/` holds every backend to.

Shared by every store: a method that returns has committed durably (fsync'd or the database's
equivalent); writes are serialized, so a write sees every write that returned before it began.
Every method is a coroutine unless said otherwise, safe to call from many tasks, and never blocks
the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ccbridge.core.event import DeliveryJob, EndpointSpec, Event, Outcome, Subscription
from ccbridge.core.times import IDEMPOTENCY_WINDOW


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
    among the due ones nobody holds (epoch seconds; None when none is waiting): the delivery lag.
    `limit` and `refused` show the backpressure of `append_event`."""

    pending: int = 0
    retrying: int = 0
    oldest_due: float | None = None
    limit: int | None = None  # `limits.max_pending`, when the store enforces one
    refused: int = 0  # events this store instance refused as Overloaded since it opened


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
    backpressure: str | None = None  # set while the store refuses events (too many pending deliveries)


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

    Called by the writer with the subscriptions that exist at that moment, so a 2xx covers the
    deliveries too. Pure and synchronous.
    """

    def route(self, event: Event) -> list[tuple[str, EndpointSpec]]: ...

    def replace(self, subscriptions: Sequence[Subscription]) -> None: ...


class EventLog(Protocol):
    """Accepted events, de-duplicated by idempotency key."""

    async def append_event(self, event: Event) -> AppendResult:
        """Store `event` with one pending delivery per endpoint the router names, in one commit.

        When `event.idempotency_key` was appended within `IDEMPOTENCY_WINDOW`, nothing is written
        and the result carries the original event with `created` False. After the window the key
        starts a new event. Routing sees every subscription committed before this call began.

        Backpressure: when the store has a `max_pending` limit and the event's deliveries would take
        the unsettled deliveries across the store past it, nothing is written and `Overloaded` (with
        `retry_after`) is raised. Repeats of a stored key and events that route nowhere still pass.
        """
        ...

    async def get_event(self, event_id: str) -> Event | None: ...


class IdempotencyRecords(Protocol):
    """Stored API answers for `Idempotency-Key`, written in the same commit as the change they answer."""

    async def get_idempotent(
        self, scope: str, key: str, max_age: float = IDEMPOTENCY_WINDOW
    ) -> IdempotentRecord | None:
        """The record for (`scope`, `key`) when it is younger than `max_age` seconds."""
        ...


class SubscriptionStore(Protocol):
    """Subscriptions, unique by name, at most `max_subscriptions` of them.

    A subscription write commits together with its idempotency record (`idem`) and is seen by every
    `append_event` that begins after it returns, in this process and in any other sharing the store.
    """

    async def create_subscription(
        self, sub: Subscription, max_subscriptions: int, idem: IdempotentRecord | None = None
    ) -> Subscription:
        """Raises ConflictError (with the existing id) on a taken name, QuotaExceeded at the limit."""
        ...

    async def update_subscription(self, sub: Subscription, idem: IdempotentRecord | None = None) -> None:
        """Replace `sub.id`'s document. Raises NotFoundError when it does not exist, ConflictError when
        its new name is another subscription's."""
        ...

    async def delete_subscription(self, sub_id: str) -> bool:
        """Delete it and cancel its pending deliveries (dead letters stay); False when it did not exist."""
        ...

    async def get_subscription(self, sub_id: str) -> Subscription | None: ...

    async def list_subscriptions(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        ...


class DeliveryQueue(Protocol):
    """The outbox the dispatcher works from. A lease is a promise that nobody else takes the delivery
    until `lease_seconds` have passed without a renewal; after that anyone may, so a crashed worker's
    deliveries are retried. Settlements and releases only apply to leases their owner still holds."""

    def add_listener(self, callback: Callable[[], None]) -> None:
        """`callback` is called on the event loop after a commit that made deliveries due."""
        ...

    def cached_subscription(self, sub_id: str) -> Subscription | None:
        """The subscription as of this store's latest lease, without waiting (synchronous): what a
        delivery leased just now is sent with."""
        ...

    async def lease(
        self, owner: str, limit: int, lease_seconds: float, exclude_endpoints: Sequence[str] = ()
    ) -> list[DeliveryJob]:
        """Claim up to `limit` due deliveries, earliest due first, for `lease_seconds`. Endpoints in
        `exclude_endpoints` are skipped (they are saturated), so a slow endpoint never takes every slot."""
        ...

    async def renew(self, owner: str, delivery_ids: Sequence[int], lease_seconds: float) -> int:
        """Extend the leases `owner` still holds on `delivery_ids` to `lease_seconds` from now; returns
        how many. A live worker renews well before expiry, so only a dead worker's leases expire."""
        ...

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None:
        """Commit how each attempt ended (delivered, retry at `next_attempt_at`, dead), in one commit.
        A settlement of a lease `owner` no longer holds is ignored; a dead one with `forward_to` also
        queues the dead-letter forward in the same commit."""
        ...

    async def release(self, owner: str, delivery_ids: Sequence[int]) -> None:
        """Give leases back unchanged (on shutdown), so the next worker need not wait for them to expire."""
        ...

    async def next_due(self, exclude_endpoints: Sequence[str] = ()) -> float | None:
        """When the earliest unleased pending delivery becomes due (epoch seconds), or None. Endpoints
        in `exclude_endpoints` are left out, as in `lease`: a saturated endpoint's due deliveries say
        nothing about when the next lease can take something."""
        ...


class DeliveryReports(Protocol):
    """Read-only figures about deliveries."""

    async def delivery_counts(self, sub_id: str) -> DeliveryCounts: ...

    async def backlog(self) -> Backlog: ...


class DeadLetterStore(Protocol):
    """Deliveries that ran out of retries or failed permanently; kept until replayed or purged."""

    async def list_dead_letters(
        self, subscription_id: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        """Newest first."""
        ...

    async def get_dead_letter(self, delivery_id: int) -> DeadLetter | None:
        """With the event document."""
        ...

    async def replay_dead_letters(
        self, ids: Sequence[int] | None = None, subscription_id: str | None = None
    ) -> int:
        """Re-queue dead letters, due now with the attempt count reset; returns how many. Replaying
        what is not dead (or whose subscription is gone) does nothing, so replay is idempotent."""
        ...

    async def purge_dead_letters(self, older_than: float | None = None) -> int:
        """Delete dead letters that died before `older_than` (epoch seconds); None purges them all."""
        ...


class Housekeeping(Protocol):
    """Retention: what the housekeeper removes so the store does not only grow."""

    async def purge_expired(self) -> int:
        """Apply each subscription's dead-letter `retention_days` and forget idempotency records past
        their window; returns the dead letters removed."""
        ...

    async def purge_history(self, older_than: float) -> tuple[int, int]:
        """Remove delivered and cancelled deliveries last changed before `older_than`, then events
        received before it that no delivery refers to. Pending deliveries and dead letters are never
        touched. Returns (deliveries, events) removed."""
        ...


class WriteHealth(Protocol):
    """Whether the store can write now, for readiness."""

    async def write_problem(self) -> str | None:
        """Why writes fail for now (the disk is full, an I/O error), or None when they commit. Costs no
        I/O while writes succeed; while they fail it tries one small write, so recovery is seen even
        when nothing else writes. Writes that fail this way raise `Unavailable` (with `retry_after`)."""
        ...


class ReadHealth(Protocol):
    """Whether the store answers at all, for readiness (`GET /readyz`)."""

    async def read_problem(self, within: float = 2.0) -> str | None:
        """Why the store does not answer now (unreachable, not answering within `within` seconds),
        or None when one trivial query came back. Costs that one query; never raises."""
        ...


class Store(
    EventLog,
    IdempotencyRecords,
    SubscriptionStore,
    DeliveryQueue,
    DeliveryReports,
    DeadLetterStore,
    Housekeeping,
    WriteHealth,
    ReadHealth,
    Protocol,
):
    """A whole backend: every job above plus its lifecycle. Only `bootstrap.py` and the contract
    tests hold one; every other part receives the protocol of the job it does."""

    async def open(self) -> None:
        """Create or migrate the schema and start serving; the other methods need it."""
        ...

    async def close(self) -> None: ...

    async def secret(self, name: str, factory_bytes: int = 32) -> bytes:
        """A named random secret, created once and then the same for every process of this store."""
        ...


class ApiStore(
    EventLog,
    IdempotencyRecords,
    SubscriptionStore,
    DeliveryReports,
    DeadLetterStore,
    WriteHealth,
    ReadHealth,
    Protocol,
):
    """What the API's routes use: everything but the delivery queue and housekeeping."""
