"""How one attempt's outcome becomes a settlement (`settlement_for`) and what an attempt sends: pure."""

from __future__ import annotations

from dataclasses import replace

import orjson

from ccbridge.core.event import (
    DeadLetterSpec,
    Delivered,
    DeliveryJob,
    EndpointSpec,
    Event,
    Failed,
    Retry,
    RetrySpec,
    Subscription,
)
from ccbridge.core.signatures import verify_inbound
from ccbridge.delivery.attempts import build_attempt, settlement_for

NOW = 1_800_000_000.0
EVENT = Event("evt-1", "contact.created", "test", "t", {"n": 1}, "cxone", "corr-1", "t")
SUB = Subscription(
    id="s1",
    name="a",
    dialect="cxone",
    event_types=("contact.created",),
    endpoints=(EndpointSpec("http://example.com/hook"),),
    secret="whsec_" + "A" * 40,
    created_at="t",
    updated_at="t",
    retry=RetrySpec(max_retries=2, strategy="linear", initial_delay_ms=1000, max_delay_ms=60_000),
)


class Half:
    def random(self) -> float:
        return 0.5


def job(attempt: int = 1, kind: str = "event") -> DeliveryJob:
    return DeliveryJob(7, EVENT, "s1", EndpointSpec("http://example.com/hook"), attempt, kind)  # type: ignore[arg-type]


def test_a_delivered_attempt_settles_delivered_with_its_status() -> None:
    s = settlement_for(job(), SUB, Delivered(204), NOW)
    assert (s.delivery_id, s.state, s.attempt, s.status, s.error) == (7, "delivered", 1, 204, None)


def test_a_retry_is_scheduled_by_the_policy_with_the_retry_after_floor() -> None:
    plain = settlement_for(job(), SUB, Retry("HTTP 503", 503), NOW, Half())
    assert (plain.state, plain.error, plain.status) == ("retry", "HTTP 503", 503)
    assert plain.next_attempt_at == NOW + 0.75  # equal jitter: half of 1 s fixed, half at 0.5
    floored = settlement_for(job(), SUB, Retry("HTTP 429", 429, after=30), NOW, Half())
    assert floored.next_attempt_at == NOW + 30


def test_retries_spent_make_a_dead_letter_saying_so() -> None:
    s = settlement_for(job(attempt=3), SUB, Retry("HTTP 503", 503), NOW, Half())
    assert (s.state, s.error) == ("dead", "gave up after 3 attempts: HTTP 503")
    assert s.forward_to is None


def test_a_permanent_failure_is_dead_at_once_and_forwarded_to_the_dead_letter_endpoint() -> None:
    forwarding = replace(SUB, dead_letter=DeadLetterSpec(True, "https://dlq.example.com/in"))
    s = settlement_for(job(), forwarding, Failed("HTTP 400", 400), NOW)
    assert (s.state, s.status, s.error) == ("dead", 400, "HTTP 400")
    assert s.forward_to == EndpointSpec("https://dlq.example.com/in", "webhook")
    forward = settlement_for(job(kind="deadletter"), forwarding, Failed("HTTP 400", 400), NOW)
    assert forward.forward_to is None  # a failed forward is not forwarded again


def test_a_deleted_subscription_ends_its_delivery_dead() -> None:
    s = settlement_for(job(), None, Retry("HTTP 503", 503), NOW)
    assert (s.state, s.error) == ("dead", "subscription deleted")


def test_an_attempt_is_signed_and_carries_the_correlation_id() -> None:
    with_headers = replace(SUB, headers={"X-Correlation-Id": "spoofed", "X-Team": "ops"})
    attempt = build_attempt(job(attempt=2), with_headers, NOW, timeout=3.0)
    body = orjson.loads(attempt.body)
    assert body["metadata"] == {"correlationId": "corr-1", "subscriptionId": "s1", "attempt": 2}
    assert attempt.headers["X-Correlation-Id"] == "corr-1" and attempt.headers["X-Team"] == "ops"
    assert attempt.headers["webhook-id"] == "evt-1" and attempt.timeout == 3.0
    assert verify_inbound(attempt.headers, attempt.body, [SUB.secret], NOW) == "standard"
