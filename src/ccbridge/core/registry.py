"""Seed 001's registry sync, done by the server: what a notice is and how it is delivered.

A notice is `{subscriptionId, state, timestamp}` (RFC 3339 UTC, whole seconds, as the document
formats it), one per subscription write through the API (`active` on create, the last known state
on update, `deleted` on delete) and one per change of a subscription's delivery state (`active`,
`degraded`, `failing`, as `core.health.delivery_state` computes it for delivery-status).

Why notices are deliveries: they ride the same durable machinery as events (stored in the
transaction of the write that causes them, leased, retried with backoff, dead-lettered), so a
registry that is down receives them later and the API call never waits for it or fails because of
it. Each notice is stored as an event of type `REGISTRY_EVENT_TYPE` (so it is listed with the other
events, an audit of what the registry was told) and a delivery of kind "registry" whose `payload`
is the body, under the reserved subscription id `REGISTRY_SUBSCRIPTION`: its retries, signing
secret and headers are those of `registry_subscription`, never a user subscription's. The
`webhook-id` of a notice is its event id, the same on every retry, so the registry can de-duplicate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ccbridge.core.event import DeadLetterSpec, EndpointSpec, Event, RetrySpec, Subscription
from ccbridge.core.ids import uuid4_str
from ccbridge.core.times import iso

REGISTRY_SUBSCRIPTION = "ccbridge.registry"
REGISTRY_EVENT_TYPE = "ccbridge.registry.state"
REGISTRY_KIND = "registry"
EVENT_SOURCE = "cxone-eventbridge"
"""The `X-Event-Source` of every registry post, as seed 001 sends it."""
DELETED = "deleted"
REGISTRY_RETRY = RetrySpec(
    max_retries=20, strategy="exponential", initial_delay_ms=1000, max_delay_ms=300_000
)
"""About 1.5 hours of tries (capped at 5 minutes apart) before a notice becomes a dead letter."""


def stamp(now: float) -> str:
    """`2026-12-03T10:45:03Z`: the document's `time.RFC3339` in UTC."""
    return datetime.fromtimestamp(int(now), UTC).isoformat().replace("+00:00", "Z")


def notice(subscription_id: str, state: str, now: float) -> tuple[Event, dict[str, Any]]:
    """The event row and the delivery payload of one notice."""
    body = {"subscriptionId": subscription_id, "state": state, "timestamp": stamp(now)}
    notice_id = uuid4_str()
    event = Event(
        id=notice_id,
        type=REGISTRY_EVENT_TYPE,
        source="ccbridge",
        time=body["timestamp"],
        data=body,
        dialect=REGISTRY_KIND,
        correlation_id=notice_id,
        received_at=iso(now),
    )
    return event, body


def registry_subscription(webhook_url: str, secret: str) -> Subscription:
    """The stand-in subscription the dispatcher delivers notices with: the registry's URL and
    signing secret, seed 001's `X-Event-Source`, `REGISTRY_RETRY`, dead letters kept."""
    return Subscription(
        id=REGISTRY_SUBSCRIPTION,
        name="registry",
        dialect="cxone",
        event_types=(REGISTRY_EVENT_TYPE,),
        endpoints=(EndpointSpec(webhook_url, "webhook"),),
        secret=secret,
        created_at=iso(0),
        updated_at=iso(0),
        headers={"X-Event-Source": EVENT_SOURCE},
        retry=REGISTRY_RETRY,
        dead_letter=DeadLetterSpec(enabled=True),
    )
