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

from ccbridge.core.endpoint_health import Admission, AttemptResult, BreakerPolicy, HealthRecord
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
    detail: AttemptDetail | None = None  # what the attempt record keeps beyond status and error


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


class DeadLetterRemoval(Protocol):
    """Deleting chosen dead letters (the dashboard's purge of one letter or a selection)."""

    async def discard_dead_letters(self, ids: Sequence[int]) -> int:
        """Delete the dead letters among `ids` in one commit; returns how many. Ids that name no dead
        letter (a live or delivered delivery, one already purged or replayed) are left alone, so a
        repeat deletes nothing."""
        ...


# --- delivery history: attempts, events and deliveries as recorded, retry one ----------------------

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


# --- replay: re-deliver stored events of a time range, as a resumable job -----------------------------

ReplayState = Literal["queued", "running", "succeeded", "failed"]
ReplayRoute = Callable[[Event], Sequence[tuple[str, EndpointSpec]]]
"""Where a replayed event goes now: (subscription id, endpoint) pairs. Pure and synchronous."""


@dataclass(frozen=True, slots=True)
class ReplaySpec:
    """What to replay: events received in [`from_ts`, `to_ts`) (epoch seconds), to the named
    subscriptions (empty: every one that matches now), narrowed by `pattern`; `dry_run` counts only."""

    from_ts: float
    to_ts: float
    subscription_ids: tuple[str, ...] = ()
    pattern: dict[str, Any] | None = None
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class ReplayJob:
    """A replay and how far it got. `total` is the events in the range when it was created; `scanned`
    those read so far, `matched` those that went to at least one endpoint, `enqueued` the deliveries
    queued (or, in a dry run, that would be), `skipped` those this job had queued already (a resumed
    step). Times in epoch seconds."""

    id: str
    spec: ReplaySpec
    state: ReplayState
    total: int
    scanned: int = 0
    matched: int = 0
    enqueued: int = 0
    skipped: int = 0
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None


class ReplayJobs(Protocol):
    """Replay jobs: created by the API, run by whichever process claims them, step by step.

    A job is worked by one owner at a time under a lease that every step renews; when its owner dies
    the lease expires and the next claim resumes it where its last committed step ended (a step's
    deliveries, its progress and its position commit together). A job queues at most one delivery per
    (job, event, subscription, endpoint), however often a step is run again.
    """

    async def create_replay(
        self, job_id: str, spec: ReplaySpec, idem: IdempotentRecord | None = None
    ) -> ReplayJob:
        """A queued job, with `total` counted; `idem` (the API's answer to its Idempotency-Key) commits with it."""
        ...

    async def get_replay(self, job_id: str) -> ReplayJob | None: ...

    async def list_replays(self, limit: int = 100) -> list[ReplayJob]:
        """Newest first."""
        ...

    async def claim_replay(self, owner: str, lease_seconds: float) -> ReplayJob | None:
        """Take the oldest queued job, or a running one whose lease expired, for `lease_seconds`."""
        ...

    async def replay_step(
        self, job_id: str, owner: str, route: ReplayRoute, limit: int, lease_seconds: float
    ) -> ReplayJob | None:
        """Replay the next `limit` events of the job's range, routed by `route`; the job succeeds once
        none is left. None when `owner` no longer holds the job (someone else resumed it)."""
        ...

    async def fail_replay(self, job_id: str, owner: str, error: str) -> None:
        """End the job as failed with `error`, if `owner` still holds it."""
        ...


# --- the whole store (after every job it is made of) ---------------------------------------------


class RegistryOutbox(Protocol):
    """Seed 001's registry sync from the server (`core.registry`): notices queued as deliveries.

    Once `enable_registry` has named the registry's endpoint, every subscription create, update and
    delete of this store also queues a notice (`active`; the last state told; `deleted`) in the same
    transaction as the write, so a write that commits has its notice stored and one that fails has
    none. Until then nothing is queued and these methods change nothing. The last state told per
    subscription is stored, so processes and replicas sharing the store tell each change once.
    """

    def enable_registry(self, endpoint: EndpointSpec) -> None:
        """From now on, queue notices for `endpoint` (called once, before the store serves)."""
        ...

    async def registry_state_changed(self, subscription_id: str, state: str) -> bool:
        """Queue a notice when `state` differs from the last one told for the subscription (and it
        still exists); True when one was queued. Safe to call concurrently from several processes:
        of two callers seeing the same change, one queues it."""


class EndpointHealth(Protocol):
    """Each endpoint's circuit breaker and rate limiter, shared by every process on the store.

    An endpoint is (`subscription_id`, `url`); the states and transitions are
    `core.endpoint_health`'s, applied atomically (two processes recording at once both count).
    Times are the store clock's. When a change lets an endpoint's deliveries go again (a breaker
    closes, an operator enables it) or ends them (it is disabled), its pending, unleased deliveries
    are made due now in the same commit, so they resume (or become dead letters) without waiting
    out the schedule they were given while it was open."""

    async def endpoint_health(self, subscription_id: str | None = None) -> list[HealthRecord]:
        """The stored records (of one subscription, or all); endpoints without one are healthy."""
        ...

    async def admit_delivery(
        self,
        subscription_id: str,
        url: str,
        owner: str,
        policy: BreakerPolicy,
        waiting: Settlement | None = None,
        lease_owner: str = "",
    ) -> tuple[Admission, float | None]:
        """Whether a delivery may be sent now: "send", "probe" (it is the one probe, held by `owner`
        for `policy.probe_lease_seconds`), "wait" (with until when) or "disabled".

        On "wait", `waiting` (the delivery's deferral, held by `lease_owner`) is committed in the same
        transaction with `next_attempt_at` set to the answer: so a breaker that closes meanwhile
        either is seen here or wakes the deferred delivery, never neither."""
        ...

    async def record_attempt(
        self,
        subscription_id: str,
        url: str,
        owner: str,
        result: AttemptResult,
        error: str | None,
        policy: BreakerPolicy,
        waiting: Settlement | None = None,
        lease_owner: str = "",
    ) -> HealthRecord | None:
        """Count one attempt's result; returns the record as stored, or None when it did not change.
        When the breaker is open after it, `waiting` is committed with it, for the next probe (as in
        `admit_delivery`)."""
        ...

    async def set_endpoint_enabled(self, subscription_id: str, url: str, enabled: bool) -> HealthRecord:
        """An operator's enable (closed, counts reset) or disable."""
        ...

    async def mark_disabled_notified(self, subscription_id: str, url: str, disabled_at: float) -> None:
        """The `ccbridge.endpoint.disabled` event of the disable at `disabled_at` is stored."""
        ...

    async def take_rate_slot(self, key: str, per_second: float) -> float:
        """Reserve the next slot of the rate limiter `key`; returns in how many seconds it is (0.0:
        now). Slots are `1/per_second` apart across every process (`core.endpoint_health.rate_slot`)."""


# --- connector leases ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectorLease:
    """One connector's row: who runs it until when, and the status its runner last reported.

    `owner` and `expires_at` are None once released; `status` is the JSON the connector's
    `status()` gave at the owner's latest renewal or release (empty before the first one), so any
    replica can answer the status route. `updated_at` is when the row last changed (epoch seconds)."""

    name: str
    owner: str | None
    expires_at: float | None
    status: dict[str, Any]
    updated_at: float


class ConnectorLeases(Protocol):
    """One lease per connector name, so across replicas exactly one process runs a connector.

    Times are the store clock's epoch seconds. A lease is held while `now < expires_at`; an expired
    lease is anyone's to take. `acquire` and `renew` are atomic compare-and-set writes: two callers
    racing for a free lease never both get True."""

    async def acquire_connector(self, name: str, owner: str, ttl: float) -> bool:
        """Take `name` for `owner` until now + `ttl` when nobody holds it (free, released or expired)
        or `owner` already does; True when `owner` holds it on return."""
        ...

    async def renew_connector(
        self, name: str, owner: str, ttl: float, status: dict[str, Any] | None = None
    ) -> bool:
        """Extend `owner`'s unexpired lease to now + `ttl`, storing `status` when given; False (and
        nothing written) when `owner` no longer holds it: it must stop the connector at once."""
        ...

    async def release_connector(self, name: str, owner: str, status: dict[str, Any] | None = None) -> None:
        """Give the lease up (next taker need not wait for expiry), storing `status` when given;
        nothing happens when `owner` does not hold it."""
        ...

    async def connector_leases(self) -> list[ConnectorLease]:
        """Every connector row, by name."""


class ReadHealth(Protocol):
    """Whether the store answers at all, for readiness (`GET /readyz`)."""

    async def read_problem(self, within: float = 2.0) -> str | None:
        """Why the store does not answer now (unreachable, not answering within `within` seconds),
        or None when one trivial query came back. Costs that one query; never raises."""
        ...


class RateLimits(Protocol):
    """Named rate limits with a burst (`core.rate_limit`), one budget per key across every process
    and replica sharing the store, so a limit holds across replicas rather than per process.

    Times are the store clock's (each process's own: replicas whose clocks disagree by d seconds
    may admit up to `per_second * d` more, so keep them synchronized). A refusal writes nothing.
    Outages raise `Unavailable` like every other method; the caller decides to refuse (fail closed).
    Durability is weaker than elsewhere, by choice: an admission is committed, and visible to every
    process, when the method returns, but a backend may not wait for it to reach disk (PostgreSQL's
    asynchronous commit), so a crash of the database can forget the admissions of its last fraction
    of a second (their subjects may send that many again), except those a later durable commit of
    the same process followed (an admitted request whose event was then stored)."""

    async def take_rate_token(self, key: str, per_second: float, burst: int) -> float:
        """Take one admission from `key`'s budget (`per_second` > 0, `burst` >= 1): 0.0 when admitted
        (committed before returning), else the seconds until one would be (`retry_after`, > 0).
        Atomic: callers racing on one key, in one process or several, are admitted no more often
        than `core.rate_limit.take_token` allows for their requests in some order."""
        ...


class Store(
    EventLog,
    IdempotencyRecords,
    SubscriptionStore,
    DeliveryQueue,
    DeliveryReports,
    DeadLetterStore,
    DeadLetterRemoval,
    Housekeeping,
    WriteHealth,
    DeliveryHistory,
    ReplayJobs,
    RegistryOutbox,
    EndpointHealth,
    ConnectorLeases,
    ReadHealth,
    RateLimits,
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
    DeadLetterRemoval,
    WriteHealth,
    DeliveryHistory,
    ReplayJobs,
    RegistryOutbox,
    EndpointHealth,
    ConnectorLeases,
    ReadHealth,
    Protocol,
):
    """What the API's routes use: everything but the delivery queue and housekeeping."""
