"""The dispatcher: lease due deliveries -> send through their endpoint -> settle.

Retries are data: a failed attempt is settled with `next_attempt_at` and leased again when due,
never slept on. Leases expire, so a crashed process's deliveries are picked up by the next one.
Each endpoint URL has its own concurrency limit; a saturated endpoint is left out of the next
lease, so a slow endpoint never holds back the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections import Counter
from collections.abc import Mapping

import structlog

from ccbridge.config import DeliveryConfig
from ccbridge.core.event import Delivered, DeliveryJob, Failed, Outcome, Retry, Subscription
from ccbridge.core.ports import Attempt, Clock, DeliveryQueue, Endpoint
from ccbridge.core.redact import mask_text, mask_url
from ccbridge.core.times import SystemClock, epoch_of
from ccbridge.delivery.attempt_record import timed, with_detail
from ccbridge.delivery.attempts import build_attempt, settlement_for
from ccbridge.delivery.breaker import EndpointGuard, Hold
from ccbridge.delivery.settler import SettleBatcher
from ccbridge.errors import Unavailable
from ccbridge.observability.logging import bind_delivery, debug
from ccbridge.observability.metrics import Metrics, status_class
from ccbridge.observability.tracing import NoTracing, Tracing

log = structlog.get_logger("ccbridge.delivery")
LEASE_BATCH = 128


class Dispatcher:
    """Runs in the server process; `notify()` is called when new deliveries were committed."""

    def __init__(
        self,
        store: DeliveryQueue,
        endpoints: Mapping[str, Endpoint],
        config: DeliveryConfig,
        metrics: Metrics,
        clock: Clock | None = None,
        guard: EndpointGuard | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        """`guard` (built by bootstrap on the same store) adds the endpoints' breakers and rate limits."""
        self._tracing: Tracing = tracing or NoTracing()
        self._store = store
        self._endpoints = endpoints
        self._config = config
        self._metrics = metrics
        self._now = (clock or SystemClock()).now
        self.owner = f"dispatcher-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._stopping = False
        self._inflight: dict[int, asyncio.Task[None]] = {}  # leased, from spawn to settled
        self._waiting: set[int] = set()  # of those, the ones not yet past their endpoint's limit
        self._per_endpoint: Counter[str] = Counter()
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._task: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._settler = SettleBatcher(lambda batch: self._store.settle(self.owner, batch))
        self._guard = guard

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ccbridge-dispatcher")
        self._renewer = asyncio.create_task(self._renew_leases(), name="ccbridge-lease-renewal")

    async def stop(self, grace: float | None = None) -> None:
        """Stop leasing; let the deliveries being sent finish for `grace` seconds; give back the leases
        of the rest (those still waiting for their endpoint's turn at once, the ones cut off after
        the grace), so the next process delivers them without waiting for the leases to expire."""
        self._stopping = True
        self._wake.set()
        self._slot_free.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        unsent = [job_id for job_id in self._inflight if job_id in self._waiting]
        in_flight = [task for job_id, task in self._inflight.items() if job_id not in self._waiting]
        await self._cancel([self._inflight[job_id] for job_id in unsent])
        cut_off: list[int] = []
        if in_flight:
            _, still = await asyncio.wait(
                in_flight, timeout=self._config.shutdown_grace_seconds if grace is None else grace
            )
            cut_off += await self._cancel(list(still))
        left = [*unsent, *cut_off]
        await self._settler.flushed()  # settlements already handed over commit before any release
        if left:
            await self._store.release(self.owner, left)
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        for endpoint in self._endpoints.values():
            await endpoint.aclose()

    async def _renew_leases(self) -> None:
        """Every third of the lease time, extend the leases of the deliveries this process works on.

        Why: a leased delivery may wait for its endpoint's turn behind slow sends for longer than the
        lease. Unrenewed, its lease would expire while it waits, and the next lease call (this
        process's own, or another's) would take it again: the same delivery sent twice. Renewed, a
        lease only expires when its process is gone, so the lease time can be short and a crashed
        process's deliveries are picked up soon.
        """
        interval = self._config.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            if not self._inflight:
                continue
            try:
                await self._store.renew(self.owner, list(self._inflight), self._config.lease_seconds)
            except Unavailable:  # disk full: the store logged it once; the leases have 2/3 left
                continue
            except Exception as exc:  # try again next time
                log.error("lease renewal failed", error=mask_text(str(exc)), error_type=type(exc).__name__)

    async def _cancel(self, tasks: list[asyncio.Task[None]]) -> list[int]:
        """Cancels `tasks` and waits for them; returns their delivery ids."""
        chosen = set(tasks)
        ids = [job_id for job_id, task in self._inflight.items() if task in chosen]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return ids

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._cycle()
            except Exception as exc:  # the loop must outlive any one failure
                if not isinstance(exc, Unavailable):  # a full disk is logged once, by the store
                    log.error(
                        "dispatcher cycle failed", error=mask_text(str(exc)), error_type=type(exc).__name__
                    )
                await asyncio.sleep(self._config.poll_interval_ms / 1000)

    async def _cycle(self) -> None:
        if self._guard is not None:
            await self._guard.refresh()
        free = self._config.concurrency - len(self._inflight)
        if free <= 0:
            self._slot_free.clear()
            await self._slot_free.wait()
            return
        self._wake.clear()
        busy = [url for url, n in self._per_endpoint.items() if n >= self._config.per_endpoint_concurrency]
        jobs = await self._store.lease(self.owner, min(free, LEASE_BATCH), self._config.lease_seconds, busy)
        for job in jobs:
            if job.id not in self._inflight:  # re-leased while still ours (a renewal failed): sent once
                self._spawn(job)
        if jobs:
            return
        # Saturated endpoints' deliveries are left out here as in the lease: they are due already, so
        # counting them would wake this loop at once, for a lease that can take none of them. A freed
        # slot or a new commit wakes it instead (`_wake`).
        due = await self._store.next_due(busy)
        interval = self._config.poll_interval_ms / 1000
        timeout = interval if due is None else min(max(due - self._now(), 0.001), interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    def _spawn(self, job: DeliveryJob) -> None:
        url = job.endpoint.url
        self._per_endpoint[url] += 1
        self._waiting.add(job.id)
        task = asyncio.create_task(self._deliver(job))
        self._inflight[job.id] = task
        self._metrics.deliveries_in_flight.set(len(self._inflight))

        def done(finished: asyncio.Task[None]) -> None:
            error = None if finished.cancelled() else finished.exception()
            if error is not None and not isinstance(error, Unavailable):
                # the settlement's commit failed: the lease expires and it is retried (a full disk
                # is the same, and logged once by the store)
                log.error("delivery failed to settle", delivery_id=job.id, error=mask_text(str(error)))
            self._inflight.pop(job.id, None)
            self._waiting.discard(job.id)  # a task cancelled before it ran never reached its finally
            self._per_endpoint[url] -= 1
            left = self._per_endpoint[url]
            if left <= 0:
                del self._per_endpoint[url]
            self._metrics.deliveries_in_flight.set(len(self._inflight))
            self._slot_free.set()
            # A lease leaves out endpoints at their limit, so a slot freed at one still at its limit
            # (more of its deliveries leased and waiting their turn) cannot change what a lease finds:
            # waking for it would cost a lease and a `next_due` that take nothing, per delivery.
            if left < self._config.per_endpoint_concurrency:
                self._wake.set()

        task.add_done_callback(done)

    def _semaphore(self, url: str) -> asyncio.Semaphore:
        sem = self._semaphores.get(url)
        if sem is None:
            sem = self._semaphores[url] = asyncio.Semaphore(self._config.per_endpoint_concurrency)
        return sem

    async def _deliver(self, job: DeliveryJob) -> None:
        bind_delivery(job)  # this task's own context: every line below names the attempt
        sub = self._store.cached_subscription(job.subscription_id)
        kind = job.endpoint.type
        started = time.perf_counter()
        started_at = self._now()
        if sub is None:
            outcome: Outcome = Failed("subscription deleted", error_class="subscription_deleted")
        else:
            endpoint = self._endpoints.get(kind)
            if endpoint is None:
                outcome = Failed(f"no transport for endpoint type {kind}", error_class="no_transport")
            else:
                sent, deferred = await self._guarded(job, sub, endpoint)
                if deferred is not None:
                    self._waiting.discard(job.id)
                    if sent is not None:
                        self._record(job, sent, "retry")
                    if not deferred.committed:
                        assert deferred.settlement is not None
                        await self._settler.settle(deferred.settlement)
                    return
                assert sent is not None
                outcome = sent
        self._waiting.discard(job.id)  # the paths that send nothing
        self._metrics.delivery_seconds.labels(kind).observe(time.perf_counter() - started)
        settlement = with_detail(settlement_for(job, sub, outcome, self._now()), outcome, started_at, kind)
        self._record(job, outcome, settlement.state)
        self._observe(job, outcome, settlement.state)
        await self._settler.settle(settlement)

    async def _guarded(
        self, job: DeliveryJob, sub: Subscription, endpoint: Endpoint
    ) -> tuple[Outcome | None, Hold | None]:
        """The attempt, past the endpoint's breaker and rate limit (`delivery.breaker`): (the outcome
        to settle as usual, None), or (what was sent if anything, a deferral: it waits, its attempt
        unspent). A disabled endpoint's outcome is a `Failed` naming why."""
        guard = self._guard
        if guard is None or job.kind != "event":
            return await self._attempt(job, sub, endpoint), None
        hold = await guard.hold(job, sub, self.owner)
        sent = None
        if hold is None:
            sent = await self._attempt(job, sub, endpoint)
            hold = await guard.settled(job, sent, self.owner)
            if hold is None:
                return sent, None
        if hold.settlement is not None:
            return sent, hold
        return hold.outcome, None

    async def _attempt(self, job: DeliveryJob, sub: Subscription, endpoint: Endpoint) -> Outcome:
        """One try, whatever goes wrong: every exception becomes an outcome, so the delivery is settled
        (retried, or dead with the reason) rather than left leased with no attempt recorded, to be
        leased again forever. A body that cannot be built (an event the encoder refuses) fails the
        same way on every try, so it is permanent; an endpoint that raises is retried by the policy."""
        try:
            attempt = build_attempt(job, sub, self._now(), self._config.timeout_seconds)
        except Exception as exc:
            self._waiting.discard(job.id)
            return Failed(
                f"the delivery could not be built: {type(exc).__name__}: {exc}", error_class="build_error"
            )
        semaphore = self._semaphore(job.endpoint.url)
        try:
            await semaphore.acquire()
        finally:
            self._waiting.discard(job.id)
        sent = time.perf_counter()
        try:
            return timed(await self._send(endpoint, attempt), sent)
        except Exception as exc:  # an adapter's bug must not strand the delivery
            log.error(
                "endpoint raised",
                delivery_id=job.id,
                error_type=type(exc).__name__,
                error=mask_text(str(exc)),
            )
            return Retry(f"the endpoint raised {type(exc).__name__}: {exc}", error_class="endpoint_raised")
        finally:
            semaphore.release()

    def _observe(self, job: DeliveryJob, outcome: Outcome, state: str) -> None:
        """Issue 18's per-endpoint and ingest-to-delivery figures, and the attempt's debug line."""
        status = getattr(outcome, "status", None)
        label = "delivered" if isinstance(outcome, Delivered) else ("retry" if state == "retry" else "failed")
        endpoint = mask_url(job.endpoint.url)
        self._metrics.endpoint_deliveries.labels(endpoint, status_class(status), label).inc()
        if isinstance(outcome, Delivered) and job.kind == "event":
            received = epoch_of(job.event.received_at)
            if received is not None:
                self._metrics.ingest_to_delivery_seconds.labels(job.endpoint.type).observe(
                    max(0.0, self._now() - received)
                )
        debug(log, "delivery attempt", outcome=state, status=status)

    async def _send(self, endpoint: Endpoint, attempt: Attempt) -> Outcome:
        """The send in a `delivery attempt` span continuing the event's trace; the consumer is sent
        the span's traceparent (or, not tracing, the event's own, already in the headers)."""
        job = attempt.job
        with self._tracing.span(
            "delivery attempt",
            parent=job.event.metadata.get("traceparent"),
            attributes={
                "ccbridge.event_id": job.event.id,
                "ccbridge.subscription_id": job.subscription_id,
                "ccbridge.endpoint_type": job.endpoint.type,
                "ccbridge.endpoint": mask_url(job.endpoint.url),
                "ccbridge.attempt": job.attempt,
            },
        ) as span:
            if (traced := span.traceparent()) is not None:
                headers = {k: v for k, v in attempt.headers.items() if k.lower() != "traceparent"}
                attempt = dataclasses.replace(attempt, headers={**headers, "traceparent": traced})
            outcome = await endpoint.send(attempt)
            span.set("ccbridge.outcome", type(outcome).__name__)
            if (status := getattr(outcome, "status", None)) is not None:
                span.set("ccbridge.status", status)
            return outcome

    def _record(self, job: DeliveryJob, outcome: Outcome, state: str) -> None:
        kind = job.endpoint.type
        label = "delivered" if isinstance(outcome, Delivered) else ("retry" if state == "retry" else "failed")
        self._metrics.deliveries.labels(label, kind).inc()
        if state == "retry":
            self._metrics.delivery_retries.labels(kind).inc()
            log.info(
                "delivery retry",
                delivery_id=job.id,
                event_id=job.event.id,
                subscription_id=job.subscription_id,
                endpoint=mask_url(job.endpoint.url),
                endpoint_type=kind,
                attempt=job.attempt,
                reason=mask_text(getattr(outcome, "reason", "")),
            )
        elif state == "dead":
            self._metrics.dead_letters.labels(kind).inc()
            log.warning(
                "dead letter",
                delivery_id=job.id,
                event_id=job.event.id,
                subscription_id=job.subscription_id,
                endpoint=mask_url(job.endpoint.url),
                endpoint_type=kind,
                attempt=job.attempt,
                reason=mask_text(getattr(outcome, "reason", "")),
            )
