"""The dispatcher's side of endpoint health: each endpoint's circuit breaker and rate limit.

The state lives in the store (`EndpointHealth`, transitions in `core.endpoint_health`), so every
process sees one breaker and one rate per endpoint. This process keeps a view of the stored records,
read again every `REFRESH_SECONDS` and after each of its own writes, so the hot path costs nothing:
a delivery to an endpoint the view shows closed is sent without asking the store, and a success on
an endpoint with no failures writes nothing. Only endpoints in trouble, and rate-limited ones, cost
a store write per delivery. The price: a breaker another process opened (or an operator switched)
takes effect here within `REFRESH_SECONDS`; until then this process sends as before, and what it
records (a failure) counts on the shared breaker.

What a delivery waits for is settled as a deferral: re-queued for the time it can go, with its
attempt count unchanged (a wait spends no attempt, so nothing is dead-lettered for it meanwhile):

* over its endpoint's `rateLimitPerSecond` — until the slot reserved for it in the store (the
  next free one, across every process). It is then sent without taking another, so a backlog
  drains at the rate, each delivery leased twice at most. A delivery that another process leases
  (this one stopped) reserves a new slot there; the one reserved here goes unused.
* while the breaker is open — until the next probe. A failed attempt that leaves the breaker open
  (the one that opened it, or a failed probe) is deferred likewise: it is counted by the breaker,
  not against the delivery's retries.

A disabled endpoint's deliveries become dead letters ("endpoint disabled: ..."): kept, listed and
replayable (`ccbridge deadletters replay --subscription S`) once an operator enables it. Waiting
instead would leave them stuck for as long as nobody looks, holding the pending limit for everyone.

Store trouble never holds a delivery back: if the store cannot answer for the breaker or the rate,
the delivery is sent (logged), as it would be without them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from ccbridge.core.endpoint_health import STATE_VALUES, AttemptResult, BreakerPolicy, HealthRecord
from ccbridge.core.event import Delivered, DeliveryJob, EndpointSpec, Failed, Outcome, Subscription
from ccbridge.core.operational import endpoint_disabled_event
from ccbridge.core.ports import EndpointHealth, EventLog, Settlement
from ccbridge.core.redact import mask_text, mask_url
from ccbridge.observability.metrics import Metrics

log = structlog.get_logger("ccbridge.delivery")
REFRESH_SECONDS = 1.0
RESERVATION_KEPT_SECONDS = 300.0
Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Hold:
    """What to do with a delivery instead of sending it: `settlement` (a deferral; `committed` when
    the store already wrote it with the breaker's answer) or `outcome` (a dead letter, for a
    disabled endpoint)."""

    settlement: Settlement | None = None
    outcome: Outcome | None = None
    committed: bool = False


def deferral(job: DeliveryJob, until: float, reason: str, status: int | None = None) -> Settlement:
    """Re-queue `job` for `until` without spending an attempt."""
    return Settlement(job.id, "retry", job.attempt - 1, status=status, error=reason, next_attempt_at=until)


def endpoint_spec(sub: Subscription, job: DeliveryJob) -> EndpointSpec | None:
    """The subscription's own spec of the job's endpoint (which carries its rate limit)."""
    return next((e for e in sub.endpoints if e.url == job.endpoint.url and e.type == job.endpoint.type), None)


def result_of(outcome: Outcome) -> AttemptResult:
    if isinstance(outcome, Delivered):
        return "ok"
    return "gone" if outcome.status == 410 else "failed"


class EndpointGuard:
    """Breaker and rate limit for one dispatcher (`owner`); `breaker_enabled` False keeps the rate
    limits only."""

    def __init__(
        self,
        health: EndpointHealth,
        events: EventLog,
        policy: BreakerPolicy,
        owner: str,
        metrics: Metrics,
        now: Callable[[], float],
        breaker_enabled: bool = True,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self._health = health
        self._events = events
        self._policy = policy
        self._owner = owner
        self._metrics = metrics
        self._now = now
        self._breaker = breaker_enabled
        self._view: dict[Key, HealthRecord] = {}
        self._refresh_every = refresh_seconds
        self._refreshed = -refresh_seconds  # monotonic seconds
        self._reserved: dict[int, float] = {}  # delivery id -> the rate slot reserved for it

    async def refresh(self, force: bool = False) -> None:
        """Read the stored records again (at most every `REFRESH_SECONDS` unless `force`), and store
        the event of any automatic disable not yet announced (a process that died between the
        disable and its event leaves that to the next one)."""
        if not force and time.monotonic() - self._refreshed < self._refresh_every:
            return
        self._refreshed = time.monotonic()
        self._forget_reservations()
        try:
            records = await self._health.endpoint_health()
        except Exception as exc:
            log.warning(
                "endpoint health unreadable", error=mask_text(str(exc)), error_type=type(exc).__name__
            )
            return
        self._view = {(r.subscription_id, r.url): r for r in records}
        for record in records:
            self._show(record)
            if record.state == "disabled" and not record.notified:
                await self._announce(record)

    async def hold(self, job: DeliveryJob, sub: Subscription, lease_owner: str) -> Hold | None:
        """None: send it now. Otherwise what to do instead (wait, or dead-letter). `lease_owner`
        holds the job's lease (a deferral the store writes itself is settled in its name)."""
        key = (job.subscription_id, job.endpoint.url)
        record = self._view.get(key)
        probe = False
        if self._breaker and record is not None and record.state != "closed":
            waiting = deferral(job, 0.0, "waiting: the endpoint's circuit breaker is open")
            try:
                verdict, until = await self._health.admit_delivery(
                    key[0], key[1], self._owner, self._policy, waiting, lease_owner
                )
            except Exception as exc:
                log.warning("breaker unreadable", error=mask_text(str(exc)), error_type=type(exc).__name__)
                verdict, until = "send", None
            if verdict == "disabled":
                return Hold(outcome=Failed(f"endpoint disabled ({record.disabled_by or 'operator'})"))
            if verdict == "wait":
                self._metrics.deliveries_deferred.labels("breaker_open").inc()
                return Hold(replace(waiting, next_attempt_at=until), committed=True)
            probe = verdict == "probe"
        spec = endpoint_spec(sub, job)
        if probe or spec is None or spec.rate_limit_per_second is None:
            return None  # a probe goes alone (one at a time), so the rate cannot be passed by it
        return await self._rate(job, spec.rate_limit_per_second)

    async def _rate(self, job: DeliveryJob, per_second: float) -> Hold | None:
        """Send at the delivery's reserved slot: reserve one the first time (deferring it there when
        it is later), and send without another when it comes due at its slot."""
        now = self._now()
        reserved = self._reserved.pop(job.id, None)
        if reserved is not None:
            if reserved - now <= 0.5 / per_second:
                return None
            self._reserved[job.id] = reserved  # woken early (a breaker closed): back to its slot
            return Hold(deferral(job, reserved, f"waiting: rateLimitPerSecond {per_second:g}"))
        try:
            wait = await self._health.take_rate_slot(f"{job.subscription_id} {job.endpoint.url}", per_second)
        except Exception as exc:
            log.warning("rate limiter unreadable", error=mask_text(str(exc)), error_type=type(exc).__name__)
            return None
        if wait <= 0:
            return None
        self._reserved[job.id] = now + wait
        self._metrics.deliveries_deferred.labels("rate_limit").inc()
        return Hold(deferral(job, now + wait, f"waiting: rateLimitPerSecond {per_second:g}"))

    def _forget_reservations(self) -> None:
        """Reservations whose delivery did not come back to this process (another took it, its
        subscription went) are dropped a while after their slot, so they do not accumulate."""
        stale = self._now() - RESERVATION_KEPT_SECONDS
        for delivery_id in [d for d, slot in self._reserved.items() if slot < stale]:
            del self._reserved[delivery_id]

    async def settled(self, job: DeliveryJob, outcome: Outcome, lease_owner: str) -> Hold | None:
        """Count a sent attempt's outcome. None: settle it as the retry policy says; otherwise a
        deferral (the breaker is open after it) or a dead letter's outcome (the endpoint is now
        disabled)."""
        if not self._breaker:
            return None
        key = (job.subscription_id, job.endpoint.url)
        result = result_of(outcome)
        known = self._view.get(key)
        if result == "ok" and (known is None or (known.state == "closed" and known.failures == 0)):
            return None  # the hot path: nothing to write
        error = None if isinstance(outcome, Delivered) else mask_text(outcome.reason)
        status = None if isinstance(outcome, Delivered) else outcome.status
        reason = f"waiting: the endpoint's circuit breaker is open (last error: {error})"
        waiting = None if result == "ok" else deferral(job, 0.0, reason, status)
        try:
            record = await self._health.record_attempt(
                key[0], key[1], self._owner, result, error, self._policy, waiting, lease_owner
            )
        except Exception as exc:
            log.warning("breaker not updated", error=mask_text(str(exc)), error_type=type(exc).__name__)
            return None
        if record is None:
            return None
        self._view[key] = record
        self._show(record)
        if record.state == "closed" or result == "ok":
            if known is not None and known.state != "closed" and record.state == "closed":
                log.info("endpoint breaker closed", subscription_id=key[0], endpoint=mask_url(key[1]))
            return None
        if record.state == "open":
            if known is None or known.state != "open":
                log.warning("endpoint breaker opened", subscription_id=key[0], endpoint=mask_url(key[1]))
            assert waiting is not None
            return Hold(replace(waiting, next_attempt_at=record.next_probe_at), committed=True)
        if not record.notified:
            await self._announce(record, job.endpoint.type)
        return Hold(outcome=Failed(f"endpoint disabled ({record.disabled_by}): {error}", status))

    def _show(self, record: HealthRecord) -> None:
        self._metrics.endpoint_breaker_state.labels(record.subscription_id, mask_url(record.url)).set(
            STATE_VALUES[record.state]
        )

    async def _announce(self, record: HealthRecord, endpoint_type: str | None = None) -> None:
        """Store the `ccbridge.endpoint.disabled` event (once: its idempotency key), then mark it done."""
        if record.disabled_at is None:
            return
        try:
            await self._events.append_event(endpoint_disabled_event(record, endpoint_type, self._now()))
            await self._health.mark_disabled_notified(record.subscription_id, record.url, record.disabled_at)
        except Exception as exc:  # the next refresh tries again
            log.warning("endpoint disabled event not stored", error=mask_text(str(exc)))
            return
        log.warning(
            "endpoint disabled",
            subscription_id=record.subscription_id,
            endpoint=mask_url(record.url),
            by=record.disabled_by,
        )
