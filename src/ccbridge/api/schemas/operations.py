"""Liveness and readiness answers, and the connectors' state."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ccbridge.api.schemas.base import JSON


class Status(BaseModel):
    status: str = Field(description="ok (healthz); ready, starting or unavailable (readyz)")
    reason: str | None = Field(None, description="why not ready, when unavailable (e.g. the disk is full)")


class ConnectorStatus(BaseModel):
    """One configured connector, as its lease holder last reported it (any replica answers)."""

    model_config = ConfigDict(extra="allow")

    name: str
    kind: str
    state: str = Field(description="connecting | connected | backoff | stopped | unowned")
    connected: bool
    owner: str | None = Field(None, description="the process holding the lease")
    leaseExpiresAt: str | None = None
    updatedAt: str | None = None
    channels: list[JSON] | None = None
    sessions: list[JSON] | None = None
    tokenExpiresAt: str | None = None
    lastMessageAt: str | None = None
    lastGap: JSON | None = None


class ConnectorList(BaseModel):
    entities: list[ConnectorStatus]
    total: int
