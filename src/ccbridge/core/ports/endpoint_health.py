"""Endpoint health (`EndpointHealth`): each endpoint's circuit breaker and rate limiter, shared by
every process on the store.

Contracts: the states and transitions are `core.endpoint_health`'s, applied atomically (concurrent
records all count), on the store clock; a change that lets an endpoint's deliveries go again or ends
them makes its pending, unleased deliveries due now in the same commit; a "wait" admission commits
the delivery's deferral with it, so a breaker that closes meanwhile is either seen or wakes the
delivery. The store-wide contract of `ccbridge.core.ports` applies.
"""

from __future__ import annotations

from typing import Protocol

from ccbridge.core.endpoint_health import Admission, AttemptResult, BreakerPolicy, HealthRecord
from ccbridge.core.ports.deliveries import Settlement


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
