"""What a subscription's operations answer: its delivery status, its endpoints' health (enable,
disable), a rotated signing secret and a test event sent to it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ccbridge.api.schemas.base import AnswerModel


class DeliveryCounts(BaseModel):
    delivered: int
    pending: int
    retrying: int
    deadLettered: int


class DeliveryStatus(BaseModel):
    subscriptionId: str
    state: Literal["active", "degraded", "failing"] = Field(
        description="failing: the last attempt failed and nothing succeeded in 15 minutes"
    )
    lastDeliveryError: str | None
    lastDeliveryAt: str | None
    lastSuccessAt: str | None
    counts: DeliveryCounts
    waiting: str | None = Field(None, description="why deliveries wait, when they do (e.g. no NATS)")
    backpressure: str | None = Field(
        None, description="set while ingestion answers 503: more deliveries pending than limits.max_pending"
    )


class EndpointHealth(AnswerModel):
    index: int = Field(
        description="the endpoint's place in the subscription (0-based), as in the enable/disable routes"
    )
    url: str = Field(description="credentials masked")
    type: str
    rateLimitPerSecond: int | None = None
    state: Literal["closed", "open", "disabled"] = Field(
        description="closed: delivering; open: paused after failures, probed with backoff; disabled: not delivering"
    )
    consecutiveFailures: int
    failingSince: str | None = None
    openedAt: str | None = None
    nextProbeAt: str | None = None
    lastError: str | None = None
    disabledAt: str | None = None
    disabledBy: Literal["breaker", "gone", "operator"] | None = None


class EndpointHealthList(AnswerModel):
    subscriptionId: str
    entities: list[EndpointHealth]


class SecretRotated(AnswerModel):
    subscriptionId: str
    secret: str = Field(description="the new signing secret: answered only here, once")
    previousSecretExpiresAt: str | None = Field(
        None, description="until then deliveries carry a signature with the previous secret too"
    )


class TestEventSent(AnswerModel):
    id: str = Field(description="the stored test event's id")
    eventType: str
    deliveries: int = Field(description="deliveries queued: one per endpoint of the subscription")
