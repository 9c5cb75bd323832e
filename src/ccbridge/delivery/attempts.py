"""What one attempt sends and how its outcome settles the delivery row. Pure: no I/O."""

from __future__ import annotations

import random
from typing import Any

import orjson

from ccbridge.core.event import Delivered, DeliveryJob, EndpointSpec, Failed, Outcome, Subscription
from ccbridge.core.ports import Attempt, Settlement
from ccbridge.core.redact import mask_text, mask_url
from ccbridge.core.retry import Rng, policy_for
from ccbridge.core.signatures import signed_headers


def message_id(job: DeliveryJob) -> str:
    """`webhook-id`: the event id, the same on every attempt, so consumers can de-duplicate."""
    return job.event.id if job.kind == "event" else f"deadletter-{job.id}"


def mask_letter(letter: dict[str, Any]) -> dict[str, Any]:
    """A dead letter as forwarded: the failed endpoint's URL (and a reason naming it) masked, as the
    dead-letter API shows it; the dead-letter endpoint need not hold the failed endpoint's credentials."""
    out = dict(letter)
    if isinstance(url := out.get("endpointUrl"), str):
        out["endpointUrl"] = mask_url(url)
    if isinstance(reason := out.get("reason"), str):
        out["reason"] = mask_text(reason)
    return out


def body_of(job: DeliveryJob) -> bytes:
    if job.kind == "deadletter":
        letter: dict[str, Any] = {
            "type": "ccbridge.deadletter",
            **mask_letter(job.payload or {}),
            "event": job.event.document(),
        }
        return orjson.dumps(letter)
    return orjson.dumps(job.event.delivery_body(job.subscription_id, job.attempt))


def build_attempt(job: DeliveryJob, sub: Subscription, now: float, timeout: float) -> Attempt:
    """Static headers first, so the computed signatures win over seed 002's `...Signature: required`."""
    body = body_of(job)
    headers = dict(sub.headers)
    lowered = {k.lower() for k in headers}
    secrets = sub.signing_secrets(now)
    signed = signed_headers(secrets[0], message_id(job), now, body, secrets[1:]) if sub.secret else {}
    for name in list(headers):
        if name.lower() in {s.lower() for s in signed} or name.lower() == "x-correlation-id":
            del headers[name]
    headers.update(signed)
    headers["X-Correlation-Id"] = job.event.correlation_id
    if "traceparent" in job.event.metadata and "traceparent" not in lowered:
        headers["traceparent"] = job.event.metadata["traceparent"]
    return Attempt(job=job, body=body, headers=headers, timeout=timeout)


def settlement_for(
    job: DeliveryJob, sub: Subscription | None, outcome: Outcome, now: float, rng: Rng | None = None
) -> Settlement:
    """Delivered, re-scheduled by the subscription's retry policy, or dead (forwarded when the
    subscription's deadLetterQueue names an endpoint)."""
    if isinstance(outcome, Delivered):
        return Settlement(job.id, "delivered", job.attempt, status=outcome.status)
    if isinstance(outcome, Failed) or sub is None:
        reason = outcome.reason if sub is not None else "subscription deleted"
        return _dead(job, sub, reason, outcome.status)
    delay = policy_for(sub.retry).next_delay(job.attempt, outcome.after, rng or random)
    if delay is None:
        return _dead(job, sub, f"gave up after {job.attempt} attempts: {outcome.reason}", outcome.status)
    return Settlement(
        job.id, "retry", job.attempt, status=outcome.status, error=outcome.reason, next_attempt_at=now + delay
    )


def _dead(job: DeliveryJob, sub: Subscription | None, reason: str, status: int | None) -> Settlement:
    forward = None
    if sub is not None and job.kind == "event" and sub.dead_letter.enabled and sub.dead_letter.endpoint_url:
        forward = EndpointSpec(sub.dead_letter.endpoint_url, "webhook")
    return Settlement(job.id, "dead", job.attempt, status=status, error=reason, forward_to=forward)
