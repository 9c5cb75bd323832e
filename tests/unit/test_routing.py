"""The router: event types and patterns, matched in one pass; a rebuild compiles only the patterns
that changed; targets in the order of the subscriptions."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbridge.core import routing
from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.routing import OVERLAY_LIMIT, SubscriptionRouter
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
    kept = router._compiled["voice"]  # the cache is what this test is about
    before = router._compiled["chat"]
    email = replace(chat, pattern={"data": {"channel": ["email"]}})
    router.replace([voice, email])
    assert router._compiled["voice"] is kept
    assert router._compiled["chat"] is not before
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


Spec = tuple[int, frozenset[str], int, bool]
SPEC = st.tuples(
    st.sampled_from(range(len(PATTERNS))),
    st.frozensets(st.sampled_from(TYPES), min_size=1),
    st.integers(1, 2),
    st.booleans(),
)


def build(specs: dict[int, Spec], previous: dict[int, Subscription]) -> list[Subscription]:
    """Subscriptions `s<i>` as `specs` say; one whose spec did not change keeps its object (and
    so its pattern object, as the store's cache does)."""
    subs = []
    for i, (p, types, endpoints, active) in specs.items():
        sub = replace(
            subscription(f"s{i}", PATTERNS[p]),
            event_types=tuple(sorted(types)),
            endpoints=tuple(EndpointSpec(f"http://127.0.0.1/s{i}/{n}") for n in range(endpoints)),
            state="active" if active else "disabled",
        )
        old = previous.get(i)
        subs.append(old if old is not None and old == sub else sub)
    return subs


def expected_route(subs: list[Subscription], e: Event) -> list[tuple[str, EndpointSpec]]:
    """Checking each subscription in turn: active, of the event's type, and a pattern (if any) the
    event matches."""
    return [
        (sub.id, endpoint)
        for sub in subs
        if sub.state == "active"
        and e.type in sub.event_types
        and (not sub.pattern or reference_matches(sub.pattern, e.document()))
        for endpoint in sub.endpoints
    ]


class ManualBuilds:
    """A `Builder` that keeps the rebuilds until the test runs them: routing in between uses the
    previous set and the overlay."""

    def __init__(self) -> None:
        self.waiting: list[Callable[[], None]] = []

    def __call__(self, build: Callable[[], None]) -> None:
        self.waiting.append(build)

    def run(self) -> None:
        waiting, self.waiting = self.waiting, []
        for build in waiting:
            build()


EVENTS = st.lists(
    st.tuples(st.sampled_from(["voice", "chat", "email", "sms"]), st.sampled_from(TYPES)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(
    generations=st.lists(st.dictionaries(st.integers(0, 11), SPEC, max_size=12), min_size=1, max_size=5),
    builds_run=st.lists(st.booleans(), min_size=5, max_size=5),
    events=EVENTS,
)
def test_routes_agree_with_checking_every_subscription(
    generations: list[dict[int, Spec]], builds_run: list[bool], events: list[tuple[str, str]]
) -> None:
    """After every write, whether the rebuilds it started have finished or not, the router's
    targets (in order) are those of checking every subscription in turn."""
    builds = ManualBuilds()
    router = SubscriptionRouter(builder=builds)
    by_index: dict[int, Subscription] = {}
    for specs, run in zip(generations, builds_run, strict=False):
        subs = build(specs, by_index)
        by_index = {int(sub.id[1:]): sub for sub in subs}
        router.replace(subs)
        if run:
            builds.run()
        for channel, type_ in events:
            e = event(channel, type_)
            assert router.route(e) == expected_route(subs, e)


def test_a_write_rebuilds_off_the_writer_and_routes_with_the_overlay_meanwhile() -> None:
    builds = ManualBuilds()
    router = SubscriptionRouter(builder=builds)
    subs = [subscription(f"s{i}", {"data": {"channel": [f"c{i}"]}}) for i in range(200)]
    router.replace(subs)  # everything is new: more than the overlay takes, so built here
    assert router.pending == 0 and not builds.waiting
    built = router._built
    subs[7] = replace(subs[7], pattern={"data": {"channel": ["voice"]}})
    subs.append(subscription("new", {"data": {"channel": ["voice"]}}))
    subs[9] = replace(subs[9], state="disabled")
    router.replace(subs)
    assert router._built is built and router.pending == 3 and len(builds.waiting) == 1
    assert routed(router, event("voice")) == {"s7", "new"}
    assert routed(router, event("c7")) == set()
    assert routed(router, event("c9")) == set()
    assert routed(router, event("c8")) == {"s8"}
    builds.run()
    assert router.pending == 0 and router._built is not built
    assert routed(router, event("voice")) == {"s7", "new"}
    assert routed(router, event("c9")) == set()


def test_many_changes_rebuild_on_the_writer() -> None:
    builds = ManualBuilds()
    router = SubscriptionRouter(builder=builds)
    router.replace(
        [subscription(f"s{i}", {"data": {"channel": [f"c{i}"]}}) for i in range(OVERLAY_LIMIT + 1)]
    )
    assert router.pending == 0 and not builds.waiting
    assert routed(router, event(f"c{OVERLAY_LIMIT}")) == {f"s{OVERLAY_LIMIT}"}


def test_a_failed_rebuild_is_done_again_on_the_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    builds = ManualBuilds()
    router = SubscriptionRouter(builder=builds)
    router.replace([subscription("a", {"data": {"channel": ["voice"]}})])
    builds.run()
    router.replace([subscription("a", {"data": {"channel": ["chat"]}})])
    with monkeypatch.context() as patch:
        patch.setattr(routing, "RuleSet", lambda _: (_ for _ in ()).throw(MemoryError()))
        builds.run()
    assert router.pending == 1 and not builds.waiting  # not retried in the background
    assert routed(router, event("chat")) == {"a"}
    router.replace([subscription("a", {"data": {"channel": ["chat"]}}), subscription("b", None)])
    assert router.pending == 0 and not builds.waiting
    assert routed(router, event("chat")) == {"a", "b"}


def test_rebuilds_in_a_thread_by_default() -> None:
    router = SubscriptionRouter()
    subs = [subscription(f"s{i}", {"data": {"channel": [f"c{i}"]}}) for i in range(500)]
    router.replace(subs)
    subs[3] = replace(subs[3], pattern={"data": {"channel": ["voice"]}})
    router.replace(subs)
    assert routed(router, event("voice")) == {"s3"}  # overlay or rebuilt: the same answer
    deadline = time.monotonic() + 30
    while router.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert router.pending == 0
    assert routed(router, event("voice")) == {"s3"}
    assert routed(router, event("c3")) == set()


def test_a_changed_event_type_list_is_routed_anew() -> None:
    voice = subscription("voice", {"data": {"channel": ["voice"]}})
    router = SubscriptionRouter()
    router.replace([voice])
    assert routed(router, event("voice", type_="agent.state")) == set()
    router.replace([replace(voice, event_types=("agent.state",))])
    assert routed(router, event("voice", type_="agent.state")) == {"voice"}
    assert routed(router, event("voice")) == set()
