"""The events ccbridge emits itself, stored and delivered like any other (through `accept`):

* `ccbridge.endpoint.disabled` — an endpoint was disabled automatically (failing for
  `delivery.breaker.disable_after_seconds`, or it answered `410 Gone`); delivered to the
  subscriptions of that type. Its idempotency key names the endpoint and the moment it was disabled,
  so emitting it again (after a crash between the disable and the event) stores it once.
* `ccbridge.test` — `POST .../subscriptions/{id}/test`: routed to that subscription's endpoints only
  (the router reads `TEST_TARGET` from its metadata), whatever its event types and filter.

Endpoint URLs in these events are masked (`core.redact`), like everywhere ccbridge shows them.
"""

from __future__ import annotations

import hashlib

from ccbridge.core.accept import accept
from ccbridge.core.endpoint_health import HealthRecord
from ccbridge.core.envelopes import Envelope
from ccbridge.core.event import Event
from ccbridge.core.ids import uuid4_str
from ccbridge.core.redact import mask_text, mask_url
from ccbridge.core.times import iso, iso_or_none

ENDPOINT_DISABLED = "ccbridge.endpoint.disabled"
TEST_EVENT = "ccbridge.test"
TEST_TARGET = "testSubscriptionId"
SOURCE = "ccbridge"


def endpoint_disabled_event(record: HealthRecord, endpoint_type: str | None, now: float) -> Event:
    """The event announcing that `record`'s endpoint was disabled (at `record.disabled_at`)."""
    digest = hashlib.sha256(f"{record.subscription_id} {record.url}".encode()).hexdigest()[:24]
    data = {
        "subscriptionId": record.subscription_id,
        "endpointUrl": mask_url(record.url),
        "endpointType": endpoint_type,
        "reason": "gone" if record.disabled_by == "gone" else "failing",
        "failingSince": iso_or_none(record.failing_since),
        "disabledAt": iso_or_none(record.disabled_at),
        "consecutiveFailures": record.failures,
        "lastError": None if record.last_error is None else mask_text(record.last_error),
    }
    envelope = Envelope(type=ENDPOINT_DISABLED, time=iso(now), source=SOURCE, data=data, dialect="cxone")
    key = f"{ENDPOINT_DISABLED}:{digest}:{record.disabled_at}"
    return accept(envelope, received_at=now, correlation_id=uuid4_str(), idempotency_key=key)


def test_event(subscription_id: str, now: float, idempotency_key: str | None = None) -> Event:
    """A test event for one subscription's endpoints; a caller's `idempotency_key` is scoped to the
    subscription's tests, so it never meets a published event's key."""
    data = {"subscriptionId": subscription_id, "message": "a test event sent by ccbridge"}
    envelope = Envelope(type=TEST_EVENT, time=iso(now), source=SOURCE, data=data, dialect="cxone")
    return accept(
        envelope,
        received_at=now,
        correlation_id=uuid4_str(),
        idempotency_key=None
        if idempotency_key is None
        else f"{TEST_EVENT}:{subscription_id}:{idempotency_key}",
        metadata={TEST_TARGET: subscription_id},
    )
