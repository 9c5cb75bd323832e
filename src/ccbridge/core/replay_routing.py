"""Where a replayed event goes: the subscriptions that match it now. Pure and synchronous.

A replay re-delivers to the subscriptions named (none named: every subscription), and only where the
subscription's own filter (its event types and pattern, as they are now) still matches the event and
the replay's `pattern`, when given, matches it too. Inactive subscriptions receive nothing, as at
ingestion.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.ports import ReplayRoute, ReplaySpec
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.core.rules import compile_pattern


def replay_route(subscriptions: Sequence[Subscription], spec: ReplaySpec) -> ReplayRoute:
    """The route of `spec` over `subscriptions` (compiled once; raises PatternError for a bad pattern)."""
    named = set(spec.subscription_ids)
    router = SubscriptionRouter(builder=None)
    router.replace([s for s in subscriptions if not named or s.id in named])
    narrow = None if not spec.pattern else compile_pattern(spec.pattern)

    def route(event: Event) -> list[tuple[str, EndpointSpec]]:
        if narrow is not None and not narrow.matches(event.document()):
            return []
        return router.route(event)

    return route
