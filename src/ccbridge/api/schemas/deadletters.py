"""Dead letters as listed and shown, and the replay and purge requests and answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ccbridge.api.schemas.base import JSON, RequestModel


class DeadLetter(BaseModel):
    id: int
    eventId: str
    eventType: str
    subscriptionId: str
    endpointUrl: str
    endpointType: str
    attempts: int
    lastStatus: int | None
    reason: str | None
    createdAt: str
    deadAt: str
    event: JSON | None = Field(None, description="the event document, while it is still stored")


class DeadLetterList(BaseModel):
    entities: list[DeadLetter]
    total: int


class ReplayRequest(RequestModel):
    """Replay one subscription's dead letters, or all of them: give exactly one of the two."""

    subscriptionId: str | None = None
    all: bool | None = None


class Replayed(BaseModel):
    replayed: int


class Purged(BaseModel):
    purged: int
