"""Which endpoints an event goes to: event type first, then the subscription's compiled pattern.

The store calls `route` inside its write transaction (so the deliveries commit with the event)
and `replace` after every subscription write; both run on the store's single writer, so no lock
is needed. The patterns of all subscriptions, each with its event types, are matched in one pass
by the RuleSet.

Building that RuleSet takes about 0.3 s at 10,000 subscriptions, and the writer would wait for it
at every subscription write, holding up every event behind it. So after a write that changed a
few subscriptions, the set is rebuilt on another thread while events are routed with the previous
set plus the changed subscriptions matched one by one (the "overlay"). Every event is routed
exactly as a set built right after the write would route it: a subscription whose 2xx has been
sent is in the overlay or the set. Many changes at once (a startup, a large `apply`) rebuild on
the writer, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ccbridge.core.collector import collector_paused
from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.operational import TEST_EVENT, TEST_TARGET
from ccbridge.core.rules import CompiledPattern, RuleSet, compile_pattern

Targets = tuple[int, tuple[tuple[str, EndpointSpec], ...]]
"""A subscription's place in the order of subscriptions, and its (id, endpoint) pairs: all that
routing reads of it, in one object, as the subscriptions an event reaches are out of cache."""

Compiled = dict[str, CompiledPattern]
"""Filtered subscription id -> its pattern AND its event types, compiled."""

Builder = Callable[[Callable[[], None]], None]
"""Runs a rebuild somewhere other than the writer (by default, a new daemon thread)."""

OVERLAY_LIMIT = 64
"""Changed subscriptions matched one by one while the set is rebuilt; more, and the writer rebuilds
(each costs a match per event, a few microseconds, for the fraction of a second a rebuild takes)."""


def _in_a_thread(build: Callable[[], None]) -> None:
    threading.Thread(target=build, name="ccbridge-router-build", daemon=True).start()


@dataclass(frozen=True, slots=True)
class _Built:
    """A RuleSet and the compiled patterns it was built from (identity says what changed since)."""

    rules: RuleSet
    compiled: Compiled


class SubscriptionRouter:
    """Routes events to (subscription id, endpoint) pairs; one delivery row per pair.

    Each filtered subscription is one rule of the RuleSet: its pattern AND its event types, so one
    pass over the automaton yields exactly the filtered subscriptions an event goes to, whatever
    their number (checking every subscription of the event's type against the RuleSet's answer
    would make routing linear in the subscriptions). Subscriptions without a pattern are listed by
    type. Targets keep the subscriptions' order."""

    def __init__(self, builder: Builder | None = _in_a_thread) -> None:
        """`builder=None` rebuilds on the caller's thread at every write."""
        self._builder = builder
        self._plain: dict[str, list[Targets]] = {}
        self._filtered_types: frozenset[str] = frozenset()
        self._targets: dict[str, Targets] = {}
        self._sources: dict[str, tuple[object, tuple[str, ...]]] = {}
        self._compiled: Compiled = {}
        self._built = _Built(RuleSet({}), {})
        self._overlay: dict[str, CompiledPattern | None] = {}
        # Written by the build thread, read by the writer: each a single reference assignment.
        self._ready: _Built | None = None
        self._building = False
        self._failed: BaseException | None = None

    def replace(self, subscriptions: Sequence[Subscription]) -> None:
        """After a subscription write. Patterns are compiled again only where they changed: a write
        replaces one subscription and the others keep their objects."""
        with collector_paused():
            self._replace(subscriptions)

    def _replace(self, subscriptions: Sequence[Subscription]) -> None:
        plain: dict[str, list[Targets]] = {}
        filtered_types: set[str] = set()
        targets: dict[str, Targets] = {}
        sources: dict[str, tuple[object, tuple[str, ...]]] = {}
        compiled: Compiled = {}
        for ordinal, sub in enumerate(subscriptions):
            if sub.state != "active":
                continue
            targets[sub.id] = (ordinal, tuple((sub.id, endpoint) for endpoint in sub.endpoints))
            if not sub.pattern:  # none, or `{}`: every event of its types
                for event_type in sub.event_types:
                    plain.setdefault(event_type, []).append(targets[sub.id])
                continue
            filtered_types.update(sub.event_types)
            types = tuple(sub.event_types)
            source = self._sources.get(sub.id)
            if source is not None and source[0] is sub.pattern and source[1] == types:
                compiled[sub.id] = self._compiled[sub.id]
            else:
                compiled[sub.id] = compile_pattern(_of_types(sub.pattern, types))
            sources[sub.id] = (sub.pattern, types)  # (holds the pattern, so its id stays its own)
        self._plain, self._filtered_types, self._targets = plain, frozenset(filtered_types), targets
        self._sources, self._compiled = sources, compiled
        self._adopt()
        self._overlay = _changes(self._built.compiled, compiled)
        if len(self._overlay) > OVERLAY_LIMIT or self._builder is None or self._failed is not None:
            self._failed = None
            self._built, self._overlay = _Built(RuleSet(compiled), compiled), {}
        elif self._overlay:
            self._schedule()

    def route(self, event: Event) -> list[tuple[str, EndpointSpec]]:
        if event.type == TEST_EVENT and TEST_TARGET in event.metadata:  # one subscription's test
            only = self._targets.get(event.metadata[TEST_TARGET])
            return [] if only is None else list(only[1])
        found = self._plain.get(event.type, [])
        if event.type in self._filtered_types:
            if self._overlay:
                self._adopt()
            document = event.document()
            matched = self._built.rules.matching(document)
            if self._overlay:
                matched = self._overlaid(matched, document)
            if matched:
                targets = self._targets
                found = [targets[sub_id] for sub_id in matched] + found
                found.sort()  # by ordinal (unique, so the rest of the tuples is never compared)
        return [target for _, targets in found for target in targets]

    @property
    def pending(self) -> int:
        """Changed subscriptions not yet in the RuleSet (matched one by one until it is rebuilt)."""
        self._adopt()
        return len(self._overlay)

    def _overlaid(self, matched: set[str], document: dict[str, object]) -> set[str]:
        """The built set's answer corrected for the subscriptions changed since it was built."""
        overlay = self._overlay
        result = {sub_id for sub_id in matched if sub_id not in overlay}
        for sub_id, pattern in overlay.items():
            if pattern is not None and pattern.matches(document):
                result.add(sub_id)
        return result

    def _adopt(self) -> None:
        """Take a set the build thread finished; start another if changes came in meanwhile."""
        ready = self._ready
        if ready is not None:
            self._ready = None
            retired = [self._built]
            self._built = ready
            self._overlay = _changes(ready.compiled, self._compiled)
            if self._builder is not None:  # freeing a large set takes a while too: not here
                self._builder(retired.clear)
        if self._overlay and not self._building and self._failed is None:
            self._schedule()

    def _schedule(self) -> None:
        if self._building or self._builder is None:
            return
        self._building = True
        compiled = self._compiled  # replaced, never changed in place: the thread may read it

        def build() -> None:
            try:
                self._ready = _Built(RuleSet(compiled), compiled)
            except BaseException as exc:  # the writer rebuilds itself at the next write, and raises
                self._failed = exc
            finally:
                self._building = False

        self._builder(build)


def _changes(built: Compiled, current: Compiled) -> dict[str, CompiledPattern | None]:
    """Ids whose compiled pattern is not the one `built` has: new or changed (their pattern now),
    or no longer filtered (None)."""
    changed: dict[str, CompiledPattern | None] = {
        sub_id: pattern for sub_id, pattern in current.items() if built.get(sub_id) is not pattern
    }
    changed.update((sub_id, None) for sub_id in built if sub_id not in current)
    return changed


def _of_types(pattern: dict[str, object], event_types: tuple[str, ...]) -> dict[str, object]:
    """`pattern` AND "the event's type is one of `event_types`" (`$or` of one ANDs a sub-pattern,
    whatever fields, `event` included, the pattern itself constrains)."""
    return {"event": list(event_types), "$or": [pattern]}
