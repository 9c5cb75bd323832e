"""The one immutable envelope, the subscription it is matched against, and a delivery's outcome.

Names follow CloudEvents (id, source, type, time, data). The API dialects (CXone, Genesys) and the
inbound/ingest shapes are converted to and from these at the edge (`core.dialects`) and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EndpointType = Literal["webhook", "grpc", "queue"]
Dialect = Literal["cxone", "genesys"]
JSON = Any


@dataclass(frozen=True, slots=True)
class Event:
    """An event once accepted: immutable, identified by `id`, de-duplicated by `idempotency_key`.

    `source` is any JSON value: a string for the CXone dialect, an object (`{system, version}`) in
    seed 003's Genesys envelopes. `time` and `received_at` are RFC 3339 UTC strings.
    """

    id: str
    type: str
    source: JSON
    time: str
    data: JSON
    dialect: str
    correlation_id: str
    received_at: str
    idempotency_key: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    def document(self) -> dict[str, JSON]:
        """The document patterns match and webhooks receive (without the per-delivery metadata)."""
        return {
            "id": self.id,
            "event": self.type,
            "source": self.source,
            "time": self.time,
            "data": self.data,
            "metadata": {"correlationId": self.correlation_id, **self.metadata},
        }

    def delivery_body(self, subscription_id: str, attempt: int) -> dict[str, JSON]:
        """The body POSTed to a webhook (and carried as `payload` over gRPC) for one attempt."""
        doc = self.document()
        doc["metadata"] = {
            **doc["metadata"],
            "subscriptionId": subscription_id,
            "attempt": attempt,
        }
        return doc


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """Where a subscription delivers: a URL and how to reach it.

    `rate_limit_per_second`, when set, caps the deliveries sent to this endpoint of its subscription
    per second, across every process sharing the store (over it, deliveries wait; none is dropped).
    """

    url: str
    type: EndpointType = "webhook"
    rate_limit_per_second: float | None = None


@dataclass(frozen=True, slots=True)
class RetrySpec:
    """A subscription's retry settings in the units of seed 001 (milliseconds, retries after the first try)."""

    max_retries: int = 5
    strategy: Literal["exponential", "linear"] = "exponential"
    initial_delay_ms: int = 1000
    max_delay_ms: int = 60_000


@dataclass(frozen=True, slots=True)
class DeadLetterSpec:
    """Seed 001's deadLetterQueue: dead letters are always kept; `endpoint_url` also receives them."""

    enabled: bool = True
    endpoint_url: str | None = None
    retention_days: int = 14


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription in dialect-neutral form.

    `filter_kind`/`filter_source` keep what the caller sent (a pattern, CXone triples or a Genesys
    expression) so the API answers with it unchanged; `pattern` is its compiled event pattern.
    `request` is the body as the caller sent it (secret removed), so the dialect's own fields
    round-trip even where the neutral form has no place for them.
    """

    id: str
    name: str
    dialect: Dialect
    event_types: tuple[str, ...]
    endpoints: tuple[EndpointSpec, ...]
    secret: str
    created_at: str
    updated_at: str
    description: str = ""
    state: str = "active"
    filter_kind: Literal["none", "pattern", "filters", "expression"] = "none"
    filter_source: JSON = None
    pattern: dict[str, JSON] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry: RetrySpec = field(default_factory=RetrySpec)
    dead_letter: DeadLetterSpec = field(default_factory=DeadLetterSpec)
    labels: dict[str, str] = field(default_factory=dict)
    request: dict[str, JSON] = field(default_factory=dict)
    previous_secret: str = ""
    """The secret before the latest rotation; deliveries are signed with it too until
    `previous_secret_expires_at` (epoch seconds), so consumers can switch keys without a gap."""
    previous_secret_expires_at: float | None = None

    def signing_secrets(self, now: float) -> tuple[str, ...]:
        """The secrets a delivery at `now` is signed with: the current one first, then the previous
        one while its grace period lasts."""
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and now < expires:
            return (self.secret, self.previous_secret)
        return (self.secret,) if self.secret else ()


# --- delivery outcomes: one result per message, never one exception per batch ---------------------


@dataclass(frozen=True, slots=True)
class Delivered:
    """The endpoint accepted the delivery. `body` is the start of the answer (at most
    `RESPONSE_EXCERPT_BYTES`, as text) and `latency_ms` how long the call took, when known. These
    (and a failure's `error_class`) are for the attempt record: outcomes equal without them."""

    status: int | None = None
    body: str | None = field(default=None, compare=False)
    latency_ms: float | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Retry:
    """A transient failure: try again, not before `after` seconds (a Retry-After floor) when given."""

    reason: str
    status: int | None = None
    after: float | None = None
    body: str | None = field(default=None, compare=False)
    latency_ms: float | None = field(default=None, compare=False)
    error_class: str | None = field(default=None, compare=False)  # "http_status", "timeout", ...


@dataclass(frozen=True, slots=True)
class Failed:
    """A permanent failure: retrying cannot help; the delivery becomes a dead letter."""

    reason: str
    status: int | None = None
    body: str | None = field(default=None, compare=False)
    latency_ms: float | None = field(default=None, compare=False)
    error_class: str | None = field(default=None, compare=False)


Outcome = Delivered | Retry | Failed

RESPONSE_EXCERPT_BYTES = 4096
"""How much of an endpoint's answer an attempt record keeps."""


def response_excerpt(raw: bytes) -> str:
    """The first `RESPONSE_EXCERPT_BYTES` of an answer as text, invalid UTF-8 and NUL replaced by
    U+FFFD (every store can keep it as text; never raises)."""
    return raw[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "\ufffd")


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """One leased delivery: the event, where it goes and which attempt this is (1 = first try).

    `kind` is "event" for a subscription's delivery and "deadletter" for forwarding a dead letter
    to the subscription's deadLetterQueue endpoint.
    """

    id: int
    event: Event
    subscription_id: str
    endpoint: EndpointSpec
    attempt: int
    kind: Literal["event", "deadletter"] = "event"
    payload: dict[str, JSON] | None = None
