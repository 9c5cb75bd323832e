"""The delivery queue (the outbox the dispatcher works from) and the figures about it:
`DeliveryQueue`, `DeliveryReports`, and their records `Settlement`, `Backlog`, `DeliveryCounts`.

Contracts: a lease keeps a delivery from everyone else until `lease_seconds` pass without a
renewal, after which anyone may take it (a crashed worker's deliveries are retried); leasing skips
saturated endpoints; settlements and releases apply only to leases their owner still holds, a
settlement batch commits at once, and a dead settlement with `forward_to` queues its dead-letter
forward in the same commit; listeners are called on the event loop after a commit that made
deliveries due. The reports are read-only. The store-wide contract of `ccbridge.core.ports` applies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from ccbridge.core.event import DeliveryJob, EndpointSpec, Subscription
from ccbridge.core.ports.history import AttemptDetail


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
