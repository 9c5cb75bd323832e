"""Per-target retries and the Genesys dialect's fan-out: several targets, each with its own retries,
and the subscription-level retryConfiguration / deadLetterQueue that CXone has, in either dialect."""

from __future__ import annotations

from typing import Any

import pytest

from ccbridge.core.dialects import Limits, parse_subscription, render_subscription, validate_subscription
from ccbridge.core.event import DeliveryJob, EndpointSpec, Event, Retry, RetrySpec
from ccbridge.delivery.attempts import retry_spec_for, settlement_for
from ccbridge.errors import InputError
from ccbridge.stores.records import subscription_from_doc, subscription_to_doc

LIMITS = Limits(max_endpoints=4, known_type=lambda t: True)
A, B = "grpc://127.0.0.1:50051", "grpc://127.0.0.1:50052"
OWN = {"maxRetries": 1, "backoffStrategy": "linear", "initialDelayMs": 10, "maxDelayMs": 20}
TOP = {"maxRetries": 7, "backoffStrategy": "exponential", "initialDelayMs": 100, "maxDelayMs": 500}


def genesys_fan_out(**extra: Any) -> dict[str, Any]:
    return {
        "name": "router",
        "eventTypes": ["routing:interaction:completed"],
        "deliveryConfig": [
            {"deliveryType": "GRPC", "url": A, "retryConfiguration": OWN},
            {"deliveryType": "GRPC", "url": B},
        ],
        "retryConfiguration": TOP,
        "deadLetterQueue": {"enabled": True, "endpointUrl": "https://dlq.example.com/in"},
        **extra,
    }


def test_genesys_takes_a_list_of_targets_each_with_its_own_retries() -> None:
    spec = validate_subscription(genesys_fan_out(), LIMITS)
    assert [(e.url, e.type) for e in spec.endpoints] == [(A, "grpc"), (B, "grpc")]
    assert spec.endpoints[0].retry == RetrySpec(1, "linear", 10, 20)
    assert spec.endpoints[1].retry is None
    assert spec.retry == RetrySpec(7, "exponential", 100, 500)
    assert spec.dead_letter.endpoint_url == "https://dlq.example.com/in"


def test_genesys_single_target_accepts_retry_and_dead_letter_settings() -> None:
    body = {
        "name": "one",
        "eventTypes": ["x"],
        "deliveryConfig": {"deliveryType": "WEBHOOK", "url": "https://h.example.com/x"},
        "retryConfiguration": {"maxRetries": 0},
        "deadLetterQueue": {"retentionDays": 3},
    }
    spec = validate_subscription(body, LIMITS)
    assert spec.retry.max_retries == 0 and spec.dead_letter.retention_days == 3


def test_both_dialects_render_back_what_they_were_given() -> None:
    body = genesys_fan_out()
    sub = parse_subscription(body, LIMITS, sub_id="s1", now="2026-12-03T00:00:00Z")
    rendered = render_subscription(sub)
    assert rendered["deliveryConfig"] == body["deliveryConfig"]
    assert rendered["retryConfiguration"] == TOP and rendered["deadLetterQueue"] == body["deadLetterQueue"]
    cxone = {
        "name": "c",
        "eventType": "x",
        "endpoints": [{"url": A, "type": "grpc", "retryConfiguration": OWN}, {"url": B, "type": "grpc"}],
    }
    back = render_subscription(parse_subscription(cxone, LIMITS, sub_id="s2", now="t"))
    assert back["endpoints"] == cxone["endpoints"]


def test_a_target_with_its_own_retries_is_retried_by_them_and_the_others_by_the_subscriptions() -> None:
    sub = parse_subscription(genesys_fan_out(), LIMITS, sub_id="s1", now="t")
    event = Event("e1", "routing:interaction:completed", "g", "t", {}, "genesys", "c", "t")
    own = DeliveryJob(1, event, "s1", EndpointSpec(A, "grpc"), attempt=2)
    other = DeliveryJob(2, event, "s1", EndpointSpec(B, "grpc"), attempt=2)
    assert retry_spec_for(own, sub) == RetrySpec(1, "linear", 10, 20)
    assert retry_spec_for(other, sub) == sub.retry
    assert settlement_for(own, sub, Retry("unavailable"), 0.0).state == "dead"
    assert settlement_for(other, sub, Retry("unavailable"), 0.0).state == "retry"


def test_a_stored_subscription_keeps_each_targets_retries() -> None:
    sub = parse_subscription(genesys_fan_out(), LIMITS, sub_id="s1", now="t")
    assert subscription_from_doc(subscription_to_doc(sub)) == sub


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "deliveryConfig": [
                    {"deliveryType": "GRPC", "url": A, "retryConfiguration": {"maxRetries": -1}}
                ]
            },
            "deliveryConfig[0].retryConfiguration.maxRetries",
        ),
        ({"deliveryConfig": [{"url": "https://a.example.com"}, "x"]}, "deliveryConfig[1]"),
        (
            {
                "deliveryConfig": [
                    {"url": "https://a.example.com", "headers": {"A": "1"}},
                    {"url": "https://b.example.com", "headers": {"A": "2"}},
                ]
            },
            "deliveryConfig[1].headers",
        ),
        ({"deliveryConfig": [{"url": f"https://{i}.example.com"} for i in range(5)]}, "deliveryConfig"),
        ({"deliveryConfig": []}, "deliveryConfig"),
        ({"retryConfiguration": {"backoffStrategy": "random"}}, "retryConfiguration.backoffStrategy"),
        ({"deadLetterQueue": {"endpointUrl": "ftp://x"}}, "deadLetterQueue.endpointUrl"),
    ],
)
def test_bad_targets_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        validate_subscription(genesys_fan_out(**change), LIMITS)
    assert field in [e.field for e in caught.value.errors]
