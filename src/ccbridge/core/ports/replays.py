"""Replays: re-deliver stored events of a time range, as a resumable job (`ReplayJobs`).

Contracts: a job is worked by one owner at a time under a lease every step renews; when its owner
dies the lease expires and the next claim resumes it where its last committed step ended (a step's
deliveries, progress and position commit together); a job queues at most one delivery per (job,
event, subscription, endpoint) however often a step runs again; creation commits with its
idempotency record. The store-wide contract of `ccbridge.core.ports` applies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ccbridge.core.event import EndpointSpec, Event
from ccbridge.core.ports.events import IdempotentRecord

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
