"""Events, deliveries and attempts as the store recorded them, paged by cursor."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class DeliveryStatusCounts(BaseModel):
    pending: int
    retrying: int
    delivered: int
    dead: int
    cancelled: int


class StoredEvent(BaseModel):
    id: str
    type: str
    source: Any
    time: str
    receivedAt: str = Field(description="when the store accepted it (RFC 3339)")
    dialect: str
    correlationId: str
    data: Any
    metadata: dict[str, str]
    deliveryCounts: DeliveryStatusCounts = Field(
        description="its deliveries by status (dead-letter forwards aside)"
    )


class EventPage(BaseModel):
    items: list[StoredEvent]
    nextCursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class DeliveryRecord(BaseModel):
    id: int
    eventId: str
    eventType: str
    subscriptionId: str
    endpointUrl: str = Field(description="credentials masked")
    endpointType: str
    kind: Literal["event", "deadletter"] = Field(
        description="deadletter: a forward to the deadLetterQueue endpoint"
    )
    status: Literal["pending", "retrying", "delivered", "dead", "cancelled"]
    attempts: int
    lastStatus: int | None
    lastError: str | None
    nextAttemptAt: str | None = Field(description="when it is due, while pending")
    createdAt: str
    updatedAt: str


class EventWithDeliveries(StoredEvent):
    deliveries: list[DeliveryRecord]


class DeliveryPage(BaseModel):
    items: list[DeliveryRecord]
    nextCursor: str | None


class AttemptRecord(BaseModel):
    id: int
    deliveryId: int
    attempt: int = Field(description="1 = the first try (a retried delivery counts again from 1)")
    at: str = Field(description="when the attempt began")
    endpointUrl: str
    endpointType: str
    outcome: Literal["delivered", "retry", "failed", "dead"] = Field(
        description="retry: another attempt is scheduled; failed: permanently (dead-lettered); dead: no retry left"
    )
    status: int | None
    latencyMs: float | None
    responseBody: str | None = Field(description="the first 4 KB of the answer, as text")
    error: str | None
    errorClass: str | None = Field(description="http_status, timeout, connection, dns, tls, ...")


class AttemptList(BaseModel):
    items: list[AttemptRecord]
