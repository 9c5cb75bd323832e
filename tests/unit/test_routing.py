"""The router: event types and patterns, matched in one pass; a rebuild compiles only the patterns
that changed; targets in the order of the subscriptions."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.rules import reference_matches


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
    kept = router._compiled["voice"][-1]  # the cache is what this test is about
    before = router._compiled["chat"][-1]
    email = replace(chat, pattern={"data": {"channel": ["email"]}})
    router.replace([voice, email])
    assert router._compiled["voice"][-1] is kept
    assert router._compiled["chat"][-1] is not before
    assert routed(router, event("chat")) == set()
    assert routed(router, event("email")) == {"chat"}
    assert routed(router, event("voice")) == {"voice"}
    router.replace([voice])
    assert set(router._compiled) == {"voice"}


PATTERNS: list[dict[str, object] | None] = [
    None,
    {},
    {"data": {"channel": ["voice"]}},
    {"data": {"channel": [{"prefix": "v"}, "chat"]}},
    {"event": [{"prefix": "contact."}]},
    {"event": ["agent.state"], "data": {"channel": ["voice"]}},
    {"$or": [{"data": {"channel": ["email"]}}, {"source": ["test"]}]},
    {"data": {"channel": [{"anything-but": "voice"}]}},
    {"data": {"missing": [{"exists": False}]}},
]
TYPES = ["contact.created", "contact.updated", "agent.state"]


@settings(max_examples=200, deadline=None)
@given(
    specs=st.lists(
        st.tuples(
            st.sampled_from(range(len(PATTERNS))),
            st.sets(st.sampled_from(TYPES), min_size=1),
            st.integers(1, 2),
            st.booleans(),
        ),
        max_size=12,
    ),
    events=st.lists(
        st.tuples(st.sampled_from(["voice", "chat", "email", "sms"]), st.sampled_from(TYPES)), min_size=1
    ),
)
def test_routes_agree_with_checking_every_subscription(
    specs: list[tuple[int, set[str], int, bool]], events: list[tuple[str, str]]
) -> None:
    """The router's targets, in order, are those of checking each subscription in turn: active, of
    the event's type, and a pattern (if any) the event matches."""
    subs = [
        replace(
            subscription(f"s{i}", PATTERNS[p]),
            event_types=tuple(sorted(types)),
            endpoints=tuple(EndpointSpec(f"http://127.0.0.1/s{i}/{n}") for n in range(endpoints)),
            state="active" if active else "disabled",
        )
        for i, (p, types, endpoints, active) in enumerate(specs)
    ]
    router = SubscriptionRouter()
    router.replace(subs)
    for channel, type_ in events:
        e = event(channel, type_)
        expected = [
            (sub.id, endpoint)
            for sub in subs
            if sub.state == "active"
            and e.type in sub.event_types
            and (not sub.pattern or reference_matches(sub.pattern, e.document()))
            for endpoint in sub.endpoints
        ]
        assert router.route(e) == expected


def test_a_changed_event_type_list_is_routed_anew() -> None:
    voice = subscription("voice", {"data": {"channel": ["voice"]}})
    router = SubscriptionRouter()
    router.replace([voice])
    assert routed(router, event("voice", type_="agent.state")) == set()
    router.replace([replace(voice, event_types=("agent.state",))])
    assert routed(router, event("voice", type_="agent.state")) == {"voice"}
    assert routed(router, event("voice")) == set()
