"""Replay jobs: the request that starts one, and its state, progress and counts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ccbridge.api.schemas.base import JSON, RequestModel


class ReplayJobRequest(RequestModel):
    """Re-deliver the events received in [from, to) to the named subscriptions (none: every
    subscription that matches each event now), narrowed by an event pattern."""

    from_: str = Field(alias="from", description="RFC 3339, inclusive")
    to: str = Field(description="RFC 3339, exclusive")
    subscriptionIds: list[str] | None = None
    pattern: JSON | None = Field(None, description="an Amazon EventBridge event pattern")
    dryRun: bool = Field(False, description="count only")


class ReplayProgress(BaseModel):
    total: int = Field(description="events in the range when the job was created")
    scanned: int
    percent: float


class ReplayCounts(BaseModel):
    matched: int = Field(description="events that went to at least one endpoint")
    enqueued: int = Field(description="deliveries queued (in a dry run: that would be)")
    skipped: int = Field(description="deliveries this job had queued already (a resumed step)")


class ReplayJob(BaseModel):
    id: str
    state: Literal["queued", "running", "succeeded", "failed"]
    dryRun: bool
    from_: str = Field(alias="from")
    to: str
    subscriptionIds: list[str]
    pattern: JSON | None
    progress: ReplayProgress
    counts: ReplayCounts
    error: str | None
    createdAt: str
    updatedAt: str
    finishedAt: str | None


class ReplayJobList(BaseModel):
    items: list[ReplayJob]
