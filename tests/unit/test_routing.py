"""The router: event type first, then patterns; a rebuild compiles only the patterns that changed."""

from __future__ import annotations

from dataclasses import replace

from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.routing import SubscriptionRouter


def subscription(
    sub_id: str, pattern: dict[str, object] | None, type_: str = "contact.created"
) -> Subscription:
    return Subscription(
        id=sub_id,
        name=sub_id,
        dialect="cxone",
        event_types=(type_,),
        endpoints=(EndpointSpec(f"http://127.0.0.1/{sub_id}"),),
        secret="whsec_x",
        created_at="t",
        updated_at="t",
        pattern=pattern,
    )


def event(channel: str, type_: str = "contact.created") -> Event:
    return Event(
        id="evt-1",
        type=type_,
        source="test",
        time="2026-11-24T10:00:00Z",
        data={"channel": channel},
        dialect="cxone",
        correlation_id="c-1",
        received_at="2026-11-24T10:00:00Z",
    )


def routed(router: SubscriptionRouter, e: Event) -> set[str]:
    return {sub_id for sub_id, _ in router.route(e)}


def test_routes_by_type_then_pattern() -> None:
    router = SubscriptionRouter()
    router.replace(
        [
            subscription("voice", {"data": {"channel": ["voice"]}}),
            subscription("any", None),
            subscription("other-type", None, type_="agent.state"),
            replace(subscription("paused", None), state="disabled"),
        ]
    )
    assert routed(router, event("voice")) == {"voice", "any"}
    assert routed(router, event("chat")) == {"any"}
    assert routed(router, event("voice", type_="agent.state")) == {"other-type"}


def test_a_rebuild_compiles_only_changed_patterns() -> None:
    """Unchanged subscriptions keep their compiled pattern; a changed one is compiled anew and used."""
    voice = subscription("voice", {"data": {"channel": ["voice"]}})
    chat = subscription("chat", {"data": {"channel": ["chat"]}})
    router = SubscriptionRouter()
    router.replace([voice, chat])
    kept = router._compiled["voice"][1]  # the cache is what this test is about
    before = router._compiled["chat"][1]
    email = replace(chat, pattern={"data": {"channel": ["email"]}})
    router.replace([voice, email])
    assert router._compiled["voice"][1] is kept
    assert router._compiled["chat"][1] is not before
    assert routed(router, event("chat")) == set()
    assert routed(router, event("email")) == {"chat"}
    assert routed(router, event("voice")) == {"voice"}
    router.replace([voice])
    assert set(router._compiled) == {"voice"}
