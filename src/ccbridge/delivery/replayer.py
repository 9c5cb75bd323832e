"""The replayer: claims replay jobs and runs them step by step, in every server process.

A job is held under a lease that each step renews; a process that dies leaves its job to expire and
the next claim (here or in another process, after a restart) resumes it at the last committed step,
so a restart resumes a replay rather than failing it. A job fails visibly (state `failed`, with the
error) only when a step raises something other than the store being unavailable for now. Steps wait
while the store's pending deliveries are at half its `max_pending`, so a replay never crowds out
live traffic into refusals. The subscriptions are read again before each step: "matches now".
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Protocol

import structlog

from ccbridge.core.event import Subscription
from ccbridge.core.ports import DeliveryReports, ReplayJob, ReplayJobs, ReplayRoute, SubscriptionStore
from ccbridge.core.redact import mask_text
from ccbridge.core.replay_routing import replay_route
from ccbridge.errors import Unavailable

log = structlog.get_logger("ccbridge.replay")


class ReplayStore(ReplayJobs, SubscriptionStore, DeliveryReports, Protocol):
    """What the replayer uses of the store."""


class Replayer:
    def __init__(
        self,
        store: ReplayStore,
        *,
        step_events: int = 500,
        lease_seconds: float = 30.0,
        poll_seconds: float = 2.0,
    ) -> None:
        self._store = store
        self._step = step_events
        self._lease = lease_seconds
        self._poll = poll_seconds
        self.owner = f"replayer-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._routes: dict[str, tuple[tuple[object, ...], ReplayRoute]] = {}

    def wake(self) -> None:
        """A job was just stored: look for it now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ccbridge-replayer")

    async def stop(self) -> None:
        """Stop between steps; a job left running resumes in the next process that claims it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                job = await self._store.claim_replay(self.owner, self._lease)
                if job is not None:
                    await self.run_job(job)
                    continue
            except Unavailable:
                pass  # the store logged it; try again after the poll
            except Exception as exc:  # the loop outlives any one failure
                log.error("replay claim failed", error=mask_text(str(exc)), error_type=type(exc).__name__)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def run_job(self, job: ReplayJob) -> ReplayJob | None:
        """Step `job` (claimed by this replayer) until it ends or is taken over; returns its last state."""
        current: ReplayJob | None = job
        while current is not None and current.state == "running":
            try:
                await self._wait_for_room()
                route = self._route(current, await self._store.list_subscriptions())
                current = await self._store.replay_step(
                    current.id, self.owner, route, self._step, self._lease
                )
            except Unavailable:
                await asyncio.sleep(self._poll)
            except Exception as exc:
                reason = mask_text(f"{type(exc).__name__}: {exc}")
                log.error("replay failed", job_id=job.id, error=reason)
                await self._store.fail_replay(job.id, self.owner, reason)
                return await self._store.get_replay(job.id)
        if current is not None:
            log.info("replay finished", job_id=job.id, state=current.state, enqueued=current.enqueued)
        self._routes.pop(job.id, None)
        return current

    def _route(self, job: ReplayJob, subscriptions: list[Subscription]) -> ReplayRoute:
        """The job's route, compiled again only when the subscriptions changed."""
        key = tuple((s.id, s.updated_at, s.state) for s in subscriptions)
        cached = self._routes.get(job.id)
        if cached is None or cached[0] != key:
            cached = self._routes[job.id] = (key, replay_route(subscriptions, job.spec))
        return cached[1]

    async def _wait_for_room(self) -> None:
        while True:
            backlog = await self._store.backlog()
            if backlog.limit is None or backlog.pending < backlog.limit // 2:
                return
            await asyncio.sleep(self._poll)
