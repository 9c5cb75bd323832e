"""The request and response bodies of the API, as documentation for /openapi.json.

Why pydantic models that no handler uses: the handlers read raw bytes and validate with the core
parsers (`core.dialects`, `core.envelopes`), which report every field at fault in the API's own
problem+json shape, and the events route stays on its fast path without a per-request model. These
models only describe those bodies (`api.docs` wires them into each route's operation), so a client
generator or an API fuzzer sees what the handlers accept and answer. A body in either dialect is a
`oneOf` of the CXone and the Genesys model: their required fields differ and neither admits the
other's, so a valid body matches exactly one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import models_json_schema

REF_TEMPLATE = "#/components/schemas/{model}"
JSON = dict[str, Any]


def _one_of(schema: JSON) -> None:
    """A union of dialects as `oneOf` (pydantic writes `anyOf`): a body is one dialect, never both."""
    schema["oneOf"] = schema.pop("anyOf")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- subscriptions ---------------------------------------------------------------------------------


class Endpoint(_Request):
    url: str = Field(
        description="webhook: http(s)://...; grpc: grpc(s)://host:port; queue: nats://host:port/subject or amqp://..."
    )
    type: Literal["webhook", "grpc", "queue"] = "webhook"
    rateLimitPerSecond: int | None = Field(
        None, ge=1, le=100_000, description="at most this many deliveries a second, across every replica"
    )


class FilterTriple(_Request):
    field: str = Field(description="a dotted path under `data`, e.g. contact.channelType")
    operator: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "prefix", "suffix", "exists"]
    value: Any = Field(description="a string (a numeric or boolean string also stands for that JSON value)")


class DeadLetterQueue(_Request):
    enabled: bool = True
    endpointUrl: str | None = Field(None, description="an http(s) URL that also receives each dead letter")
    retentionDays: int = Field(14, ge=1, le=3650)


class RetryConfiguration(_Request):
    maxRetries: int = Field(5, ge=0, le=100, description="retries after the first attempt")
    backoffStrategy: Literal["exponential", "linear"] = "exponential"
    initialDelayMs: int = Field(1000, ge=0, le=86_400_000, description="not greater than maxDelayMs")
    maxDelayMs: int = Field(60_000, ge=0, le=86_400_000)


class DeliveryConfig(_Request):
    deliveryType: Literal["WEBHOOK", "GRPC", "QUEUE"] = Field("WEBHOOK", description="case-insensitive")
    url: str
    headers: dict[str, str] | None = None
    rateLimitPerSecond: int | None = Field(
        None, ge=1, le=100_000, description="at most this many deliveries a second, across every replica"
    )


class _Common(_Request):
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
    deliveryConfig: DeliveryConfig
    filter: str | None = Field(
        None, description="an expression, e.g. data.channel == 'voice' && data.duration > 120"
    )


class SubscriptionBody(RootModel[CxoneSubscription | GenesysSubscription]):
    """A create or replace body in either dialect."""

    model_config = ConfigDict(json_schema_extra=_one_of)


class _Resource(_Answer):
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
    deliveryConfig: DeliveryConfig


class Subscription(RootModel[CxoneSubscriptionResource | GenesysSubscriptionResource]):
    """A stored subscription, in the dialect it was created in."""

    model_config = ConfigDict(json_schema_extra=_one_of)


class SubscriptionList(BaseModel):
    entities: list[Subscription]
    total: int


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


# --- events ----------------------------------------------------------------------------------------


class CxoneEvent(_Request):
    """A published event in the CXone dialect (seed 004); its source is the caller's client id."""

    eventType: str = Field(min_length=1, max_length=256, description="a type of the event catalogue")
    attributes: JSON
    timestamp: str = Field(json_schema_extra={"format": "date-time"})


class GenesysEvent(_Request):
    """A published event in the Genesys dialect (seed 003)."""

    eventType: str = Field(pattern=r"^custom\.", max_length=256, description="custom.vendor.category.action")
    eventTime: str = Field(json_schema_extra={"format": "date-time"})
    source: str | JSON = Field(description="a string or an object such as {system, version}")
    data: JSON


class EventBody(RootModel[CxoneEvent | GenesysEvent]):
    """A published event in either dialect."""

    model_config = ConfigDict(json_schema_extra=_one_of)


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


# --- dead letters ----------------------------------------------------------------------------------


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


class ReplayRequest(_Request):
    """Replay one subscription's dead letters, or all of them: give exactly one of the two."""

    subscriptionId: str | None = None
    all: bool | None = None


class Replayed(BaseModel):
    replayed: int


class Purged(BaseModel):
    purged: int


# --- tokens, operations, errors --------------------------------------------------------------------


class TokenRequest(BaseModel):
    """OAuth2 client credentials in the form body, or client_id/secret as HTTP Basic instead."""

    grant_type: Literal["client_credentials"]
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = Field(None, description="space-separated; the client's scopes when absent")


class Token(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    """RFC 6749 §5.2: the token endpoint's errors, not problem+json, because OAuth2 clients parse these."""

    error: str
    error_description: str


class Status(BaseModel):
    status: str = Field(description="ok (healthz); ready, starting or unavailable (readyz)")
    reason: str | None = Field(None, description="why not ready, when unavailable (e.g. the disk is full)")


class FieldProblem(BaseModel):
    field: str = Field(description="a dotted/indexed path, e.g. endpoints[1].url")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with every field at fault."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None
    existingId: str | None = Field(None, description="409: the subscription that has the name")


# --- endpoint health, secret rotation, test events ---------------------------------------------------


class EndpointHealth(_Answer):
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


class EndpointHealthList(_Answer):
    subscriptionId: str
    entities: list[EndpointHealth]


class SecretRotated(_Answer):
    subscriptionId: str
    secret: str = Field(description="the new signing secret: answered only here, once")
    previousSecretExpiresAt: str | None = Field(
        None, description="until then deliveries carry a signature with the previous secret too"
    )


class TestEventSent(_Answer):
    id: str = Field(description="the stored test event's id")
    eventType: str
    deliveries: int = Field(description="deliveries queued: one per endpoint of the subscription")


def components() -> dict[str, JSON]:
    """The JSON Schema of every model above, keyed by name, for `components.schemas`."""
    models = [  # pydantic also files each `RootModel[...]` it builds here, under a name with brackets
        value
        for name, value in list(globals().items())
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == __name__
        and name.isidentifier()
        and not name.startswith("_")
    ]
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF_TEMPLATE)
    return dict(top["$defs"])


# --- events, deliveries and attempts as recorded ---------------------------------------------------


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


# --- replay jobs -----------------------------------------------------------------------------------


class ReplayJobRequest(_Request):
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
