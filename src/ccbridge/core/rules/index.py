"""Many subscriptions' patterns matched against one event in a single pass.

A `RuleSet` is immutable: `with_rule` / `without_rule` return a new set (rebuilt from the already
compiled patterns, which takes a while with thousands of rules), and the owner swaps its reference.
So a `RuleSet` can be read by any number of threads or tasks without locks, and a reader never sees a
half-applied change. Matching is pure and synchronous, and its answer is exactly what
`reference_matches` says for each rule (held to that by the property tests).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ccbridge.core.collector import collector_paused
from ccbridge.core.rules.errors import PatternError
from ccbridge.core.rules.machine import Machine
from ccbridge.core.rules.operators import json_type
from ccbridge.core.rules.patterns import CompiledPattern, compile_pattern

PatternLike = dict[str, Any] | CompiledPattern


def _compile(rule_id: str, pattern: PatternLike) -> CompiledPattern:
    if isinstance(pattern, CompiledPattern):
        return pattern
    try:
        return compile_pattern(pattern)
    except PatternError as exc:
        raise PatternError(exc.path, f"{exc.reason} (rule {rule_id!r})") from None


class RuleSet:
    """Rule id -> pattern, indexed by field path and value; `matching(event)` returns the ids."""

    __slots__ = ("_machine", "_rules")

    def __init__(self, rules: Mapping[str, PatternLike] | None = None) -> None:
        """Validates every pattern (raising `PatternError` naming the rule) and builds the index."""
        with collector_paused():
            self._rules: dict[str, CompiledPattern] = {
                rule_id: _compile(rule_id, pattern) for rule_id, pattern in (rules or {}).items()
            }
            self._machine = Machine((rule_id, c.alternatives) for rule_id, c in self._rules.items())

    def matching(self, event: dict[str, Any]) -> set[str]:
        """The ids of every rule whose pattern `event` (a JSON object) satisfies."""
        if not isinstance(event, dict):
            raise TypeError(f"an event must be a JSON object, got {json_type(event)}")
        result: set[str] = set()
        self._machine.match_into(event, result)
        return result

    def with_rule(self, rule_id: str, pattern: PatternLike) -> RuleSet:
        """A new set with `rule_id` added or replaced; this one is unchanged."""
        return RuleSet({**self._rules, rule_id: _compile(rule_id, pattern)})

    def without_rule(self, rule_id: str) -> RuleSet:
        """A new set without `rule_id` (absent ids are ignored); this one is unchanged."""
        return RuleSet({k: v for k, v in self._rules.items() if k != rule_id})

    def pattern(self, rule_id: str) -> CompiledPattern:
        return self._rules[rule_id]

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __repr__(self) -> str:
        return f"RuleSet({len(self._rules)} rules, {self._machine.path_count} paths)"
