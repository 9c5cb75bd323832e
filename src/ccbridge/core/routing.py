"""Which endpoints an event goes to: event type first, then the subscription's compiled pattern.

The store calls `route` inside its write transaction (so the deliveries commit with the event)
and `replace` after every subscription write; both run on the store's single writer, so no lock
is needed. Patterns of all subscriptions are matched in one pass by the RuleSet.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.rules import CompiledPattern, RuleSet, compile_pattern


class SubscriptionRouter:
    """Routes events to (subscription id, endpoint) pairs; one delivery row per pair."""

    def __init__(self) -> None:
        self._by_type: dict[str, list[Subscription]] = {}
        self._rules = RuleSet({})
        self._compiled: dict[str, tuple[object, CompiledPattern]] = {}

    def replace(self, subscriptions: Sequence[Subscription]) -> None:
        """Rebuild after a subscription write. Patterns are compiled again only where they changed:
        a write replaces one subscription and the others keep their objects, and compiling was
        half of a rebuild at 10,000 subscriptions (which the store's writer waits for)."""
        by_type: dict[str, list[Subscription]] = {}
        compiled: dict[str, tuple[object, CompiledPattern]] = {}
        for sub in subscriptions:
            if sub.state != "active":
                continue
            for event_type in sub.event_types:
                by_type.setdefault(event_type, []).append(sub)
            if sub.pattern is not None:
                cached = self._compiled.get(sub.id)
                if cached is None or cached[0] is not sub.pattern:  # (the tuple keeps it alive)
                    cached = (sub.pattern, compile_pattern(sub.pattern))
                compiled[sub.id] = cached
        self._rules = RuleSet({sub_id: pattern for sub_id, (_, pattern) in compiled.items()})
        self._compiled = compiled
        self._by_type = by_type

    def route(self, event: Event) -> list[tuple[str, EndpointSpec]]:
        candidates = self._by_type.get(event.type)
        if not candidates:
            return []
        matched: set[str] | None = None
        targets: list[tuple[str, EndpointSpec]] = []
        for sub in candidates:
            if sub.pattern is not None:
                if matched is None:
                    matched = self._rules.matching(event.document())
                if sub.id not in matched:
                    continue
            targets.extend((sub.id, endpoint) for endpoint in sub.endpoints)
        return targets
