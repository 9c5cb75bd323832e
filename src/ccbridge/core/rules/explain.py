"""Why an event matches a pattern or not: each condition of each alternative, with the values found.

A pattern is a disjunction of alternatives (its `$or`s multiplied out, as `CompiledPattern` holds
them), each a conjunction of conditions on one path. `explain` evaluates every condition on its
own, so a pattern tester can show which fields held and which failed. The verdict is the compiled
matcher's own answer; the checks agree with it (an alternative whose checks all hold exists exactly
when it matches), which the rules tests hold against the reference evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccbridge.core.rules.matchers import Exists
from ccbridge.core.rules.order import Condition
from ccbridge.core.rules.patterns import compile_pattern
from ccbridge.core.rules.reading import values_at

__all__ = ["Check", "Explanation", "check", "explain", "values_at"]


@dataclass(frozen=True, slots=True)
class Check:
    """One condition: the dotted `path`, the condition as text (`leaf`), the scalar values the event
    has there (arrays spread, objects left out) and whether the condition holds."""

    path: str
    leaf: str
    found: tuple[Any, ...]
    holds: bool


@dataclass(frozen=True, slots=True)
class Explanation:
    matched: bool
    alternatives: tuple[tuple[Check, ...], ...]


def check(condition: Condition, event: dict[str, Any]) -> Check:
    found = values_at(event, condition.path)
    holds = any(
        (m.present == bool(found)) if isinstance(m, Exists) else any(m.test(v) for v in found)
        for m in condition.leaf.matchers
    )
    return Check(".".join(condition.path), condition.leaf.key, tuple(found), holds)


def explain(pattern: dict[str, Any], event: dict[str, Any]) -> Explanation:
    """Raises `PatternError` for an invalid pattern, TypeError when `event` is not an object."""
    compiled = compile_pattern(pattern)
    alternatives = tuple(tuple(check(c, event) for c in alt) for alt in compiled.alternatives)
    return Explanation(compiled.matches(event), alternatives)
