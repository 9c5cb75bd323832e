"""Subscription bodies in either dialect (create, replace) and the stored subscription they answer with.

A body is a `oneOf` of the CXone and the Genesys model; a stored subscription is answered in the
dialect it was created in. The fields each dialect model names are exactly those `core.dialects`
accepts (a unit test holds them together).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from ccbridge.api.schemas.base import JSON, AnswerModel, RequestModel, one_of


class RetryConfiguration(RequestModel):
    maxRetries: int = Field(5, ge=0, le=100, description="retries after the first attempt")
    backoffStrategy: Literal["exponential", "linear"] = "exponential"
    initialDelayMs: int = Field(1000, ge=0, le=86_400_000, description="not greater than maxDelayMs")
    maxDelayMs: int = Field(60_000, ge=0, le=86_400_000)


class Endpoint(RequestModel):
    url: str = Field(
        description="webhook: http(s)://...; grpc: grpc(s)://host:port; queue: nats://host:port/subject or amqp://...; "
        "cxone-signal: cxone://<connector>/signal?contactId=<path>&p1=<path>... (paths into the event, e.g. data.contactId)"
    )
    type: Literal["webhook", "grpc", "queue", "cxone-signal"] = "webhook"
    rateLimitPerSecond: int | None = Field(
        None, ge=1, le=100_000, description="at most this many deliveries a second, across every replica"
    )
    retryConfiguration: RetryConfiguration | None = Field(
        None, description="this endpoint's own retries, instead of the subscription's"
    )


class FilterTriple(RequestModel):
    field: str = Field(description="a dotted path under `data`, e.g. contact.channelType")
    operator: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "prefix", "suffix", "exists"]
    value: Any = Field(description="a string (a numeric or boolean string also stands for that JSON value)")


class DeadLetterQueue(RequestModel):
    enabled: bool = True
    endpointUrl: str | None = Field(None, description="an http(s) URL that also receives each dead letter")
    retentionDays: int = Field(14, ge=1, le=3650)


class DeliveryConfig(RequestModel):
    deliveryType: Literal["WEBHOOK", "GRPC", "QUEUE", "CXONE_SIGNAL", "CXONE-SIGNAL"] = Field(
        "WEBHOOK", description="case-insensitive"
    )
    url: str
    headers: dict[str, str] | None = Field(None, description="the same on every target of a subscription")
    rateLimitPerSecond: int | None = Field(
        None, ge=1, le=100_000, description="at most this many deliveries a second, across every replica"
    )
    retryConfiguration: RetryConfiguration | None = Field(
        None, description="this target's own retries, instead of the subscription's"
    )


class _Common(RequestModel):
    """Fields both dialects share; server-set fields of a fetched resource are accepted and ignored,
    so a client may PUT back what it got."""

    name: str = Field(min_length=1, max_length=200, description="unique among subscriptions")
    description: str | None = Field(None, max_length=2000)
    pattern: JSON | None = Field(None, description="an Amazon EventBridge event pattern, instead of a filter")
    secret: str | None = Field(
        None, pattern=r"^whsec_", description="whsec_ + base64 of 24 to 64 bytes; generated when absent"
    )
    labels: dict[str, str] | None = Field(
        None, description="`managed-by` marks what a declarative apply owns"
    )
    id: str | None = Field(None, description="server-set; ignored")
    state: str | None = Field(None, description="server-set; ignored")
    createdDate: str | None = Field(None, description="server-set; ignored")
    updatedDate: str | None = Field(None, description="server-set; ignored")
    secretHint: str | None = Field(None, description="server-set; ignored")


class CxoneSubscription(_Common):
    """A subscription in the CXone dialect (seed 001)."""

    eventType: str = Field(min_length=1, max_length=200, description="a type of the event catalogue")
    filters: list[FilterTriple] | None = Field(None, description="AND-ed conditions on the event's data")
    endpoints: list[Endpoint] = Field(min_length=1, description="at most limits.max_endpoints")
    deadLetterQueue: DeadLetterQueue | None = None
    retryConfiguration: RetryConfiguration | None = None


class GenesysSubscription(_Common):
    """A subscription in the Genesys dialect (seed 002)."""

    eventTypes: list[str] = Field(min_length=1, description="types of the event catalogue")
    deliveryConfig: DeliveryConfig | list[DeliveryConfig] = Field(
        description="one target, or a list of them (at most limits.max_endpoints)"
    )
    filter: str | None = Field(
        None, description="an expression, e.g. data.channel == 'voice' && data.duration > 120"
    )
    deadLetterQueue: DeadLetterQueue | None = None
    retryConfiguration: RetryConfiguration | None = None


class SubscriptionBody(RootModel[CxoneSubscription | GenesysSubscription]):
    """A create or replace body in either dialect."""

    model_config = ConfigDict(json_schema_extra=one_of)


class _Resource(AnswerModel):
    id: str
    name: str
    state: str = Field(description="active")
    createdDate: str = Field(json_schema_extra={"format": "date-time"})
    updatedDate: str = Field(json_schema_extra={"format": "date-time"})
    secret: str | None = Field(None, description="the full signing secret: only in the answer to a create")
    secretHint: str | None = Field(None, description="the secret's first characters, on every other answer")


class CxoneSubscriptionResource(_Resource):
    """A stored subscription in the CXone dialect: the request's fields, normalized, and the server's."""

    eventType: str
    endpoints: list[Endpoint]
    retryConfiguration: RetryConfiguration
    deadLetterQueue: DeadLetterQueue


class GenesysSubscriptionResource(_Resource):
    """A stored subscription in the Genesys dialect: the request's fields and the server's."""

    eventTypes: list[str]
    deliveryConfig: DeliveryConfig | list[DeliveryConfig]


class Subscription(RootModel[CxoneSubscriptionResource | GenesysSubscriptionResource]):
    """A stored subscription, in the dialect it was created in."""

    model_config = ConfigDict(json_schema_extra=one_of)


class SubscriptionList(BaseModel):
    entities: list[Subscription]
    total: int
