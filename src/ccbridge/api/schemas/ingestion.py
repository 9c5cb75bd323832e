"""The bodies that bring events in, and what their routes answer: published events in either dialect
(`/api/v2/eventbridge/events`), platform webhooks (`/events`), legacy business events (`/ingest`)
and Amazon EventBridge envelopes (`/sources/aws-eventbridge`).

The event models name exactly the fields `core.envelopes` accepts (a unit test holds them together).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from ccbridge.api.schemas.base import JSON, RequestModel, one_of


class CxoneEvent(RequestModel):
    """A published event in the CXone dialect (seed 004); its source is the caller's client id."""

    eventType: str = Field(min_length=1, max_length=256, description="a type of the event catalogue")
    attributes: JSON
    timestamp: str = Field(json_schema_extra={"format": "date-time"})


class GenesysEvent(RequestModel):
    """A published event in the Genesys dialect (seed 003)."""

    eventType: str = Field(pattern=r"^custom\.", max_length=256, description="custom.vendor.category.action")
    eventTime: str = Field(json_schema_extra={"format": "date-time"})
    source: str | JSON = Field(description="a string or an object such as {system, version}")
    data: JSON


class EventBody(RootModel[CxoneEvent | GenesysEvent]):
    """A published event in either dialect."""

    model_config = ConfigDict(json_schema_extra=one_of)


class EventAccepted(BaseModel):
    """The stored event: 201 when it is new, 200 with the first event for a repeated key."""

    id: str
    eventType: str
    idempotencyKey: str | None
    correlationId: str
    receivedAt: str = Field(json_schema_extra={"format": "date-time"})


class InboundWebhook(BaseModel):
    """A platform's webhook (seed 002's receiver): signed with one of `inbound.secrets`."""

    event: str = Field(min_length=1, max_length=256)
    data: JSON | None = None
    metadata: JSON | None = Field(None, description="`id` names the webhook, `timestamp` its time")


class InboundAccepted(BaseModel):
    id: str = Field(description="the stored event's id (the first one's for a redelivery)")
    duplicate: bool


class LegacyEvent(RootModel[JSON]):
    """A legacy business event; which fields it needs is set by the config's `ingest.sources`."""


class IngestAccepted(BaseModel):
    status: Literal["accepted"]
    idempotency_key: str
    event_id: str


class EventBridgeDetail(BaseModel):
    """What Genesys' EventBridge integration puts in `detail`."""

    topicName: str | None = None
    version: str | None = None
    eventBody: JSON = Field(description="becomes the stored event's data")
    metadata: JSON | None = None


class EventBridgeEnvelope(BaseModel):
    """An Amazon EventBridge event as an API destination sends it."""

    model_config = ConfigDict(populate_by_name=True)

    version: str | None = None
    id: str = Field(
        min_length=1, max_length=200, description="the idempotency key: a redelivery is stored once"
    )
    detail_type: str = Field(alias="detail-type", min_length=1, max_length=256, description="the event type")
    source: str = Field(min_length=1)
    account: str | None = None
    time: str = Field(description="RFC 3339")
    region: str | None = None
    resources: list[str] | None = None
    detail: EventBridgeDetail


class EventBridgeBody(RootModel[EventBridgeEnvelope | list[EventBridgeEnvelope]]):
    """One envelope, or a JSON array of them (at most 100)."""


class EventBridgeAccepted(BaseModel):
    id: str = Field(description="the stored event's id (the first one's for a redelivery)")
    duplicate: bool
    eventBridgeId: str


class EventBridgeBatchAccepted(BaseModel):
    results: list[EventBridgeAccepted]


class EventBridgeAnswer(RootModel[EventBridgeAccepted | EventBridgeBatchAccepted]):
    """One envelope's result, or `{results: [...]}` (in order) for a batch."""
