"""The pattern tester agrees with the router: the same events reach the subscription."""

from __future__ import annotations

import orjson
import pytest

from ccbridge.api.ui.tester import try_event
from ccbridge.core.accept import accept
from ccbridge.core.envelopes import parse_event_body
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.testing.samples import sample_subscription

PATTERN = {"data": {"channel": ["voice"], "duration": [{"numeric": [">", 120]}]}}


def known(event_type: str) -> bool:
    return True


@pytest.mark.parametrize(
    ("event_type", "channel", "duration"),
    [
        ("contact.created", "voice", 300),
        ("contact.created", "chat", 300),
        ("contact.created", "voice", 60),
        ("contact.ended", "voice", 300),
    ],
)
def test_the_verdict_is_the_routers(event_type: str, channel: str, duration: int) -> None:
    """For a published body, the tester says "delivers" exactly when the router routes it there."""
    sub = sample_subscription("s1", "calls", pattern=PATTERN)
    body = {
        "eventType": event_type,
        "timestamp": "2026-12-01T10:00:00Z",
        "attributes": {"channel": channel, "duration": duration},
    }
    router = SubscriptionRouter(builder=None)
    router.replace([sub])
    event = accept(
        parse_event_body(body, known, "x"), received_at=0.0, correlation_id="c", idempotency_key=None
    )
    routed = bool(router.route(event))
    assert try_event(sub, orjson.dumps(body).decode(), known, 0.0).delivers is routed


def test_a_delivered_document_is_tested_as_it_is() -> None:
    """The form webhooks receive (`event`, `data`) is matched without conversion."""
    sub = sample_subscription("s1", "calls", pattern=PATTERN)
    doc = {"event": "contact.created", "data": {"channel": "voice", "duration": 121}}
    assert try_event(sub, orjson.dumps(doc).decode(), known, 0.0).delivers


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not JSON"),
        ("[1]", "JSON object"),
        ('{"foo": 1}', "eventType"),
        ('{"eventType": "contact.created"}', "timestamp"),
    ],
)
def test_unusable_input_is_explained(text: str, says: str) -> None:
    """What cannot be tested says why, and never counts as a match."""
    verdict = try_event(sample_subscription("s1", "calls"), text, known, 0.0)
    assert verdict.error is not None and says in verdict.error and not verdict.delivers


def test_a_paused_subscription_receives_nothing() -> None:
    """A matching event does not reach a subscription that is not active."""
    from dataclasses import replace

    sub = replace(sample_subscription("s1", "calls"), state="paused")
    verdict = try_event(sub, '{"event": "contact.created", "data": {}}', known, 0.0)
    assert verdict.type_ok and verdict.pattern_ok and not verdict.delivers
