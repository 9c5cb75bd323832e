"""Event patterns (Amazon EventBridge syntax): validation, compilation, and one-pattern matching.

Semantics, the same in `reference_matches`, `CompiledPattern.matches` and `RuleSet.matching`:

- A pattern mirrors the event: nested objects select fields; each leaf is a non-empty array that
  OR-s values and operator objects; all fields (and every `$or`) are AND-ed.
- The event is *flattened*: arrays are transparent at any depth, so a path names every scalar
  reachable through arrays (`{"a": [{"b": 1}, {"b": 2}]}` has values 1 and 2 at `a.b`), and a leaf
  holds when any of those values satisfies any of its matchers. Conditions on different fields may
  be satisfied by different elements of the same array of objects (EventBridge's documented
  flattening; event-ruler's stricter "array-consistent" mode is not reproduced).
- Objects are not values: a path whose value is an object (or an empty array) has no values, so it
  counts as missing for `exists` and matches nothing else.
- JSON `null` is a value: a null field exists (`exists: true` holds, `exists: false` does not) and
  matches `[null]`; it is never equal to `""`.
- `anything-but` holds when the field has some value (of any type, null included) that is not
  excluded; on a missing field it is false, like every operator but `exists: false`.
- `$or` takes an array of sub-patterns at any object level. One widening of EventBridge: an array
  of one is accepted (EventBridge needs two), which the filter forms use to AND two conditions on
  one field. `$or` is always the operator (event-ruler reads a `$or` key holding an object as a
  field name; here that is an error). The top-level pattern `{}` matches every event; nested empty
  objects are errors.
- A field named both outside a `$or` of two or more and inside one of its branches follows
  event-ruler: that branch's condition *replaces* the outer one for that branch (whatever the key
  order), while branches that do not name the field keep it. So `{"a": ["x"], "$or": [{"a": ["y"]},
  {"b": ["z"]}]}` means `a = y OR (a = x AND b = z)`. The same holds for fields gathered from
  earlier `$or`s of the same pattern. A `$or` of one AND-s instead (it is how the filter forms
  write two conditions on one field).
- Keys join with dots, as event-ruler compiles them: the pattern `{"x": {"s.t": ["v"]}}` is the
  pattern `{"x": {"s": {"t": ["v"]}}}`, and either matches the events `{"x": {"s": {"t": "v"}}}`,
  `{"x": {"s.t": "v"}}` and `{"x.s": {"t": "v"}}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ccbridge.core.rules.complexity import MAX_COMPLEXITY, TOO_COMPLEX, complexity, wildcards_of
from ccbridge.core.rules.errors import PatternError, format_path
from ccbridge.core.rules.machine import Machine
from ccbridge.core.rules.matchers import Wildcard
from ccbridge.core.rules.operators import json_type, parse_leaf
from ccbridge.core.rules.order import Condition

MAX_ALTERNATIVES = 1024
"""How far `$or` may multiply out; past this a pattern is refused as too complex (EventBridge has a
similar limit) rather than slowing every event down."""

MAX_DEPTH = 64
"""Nesting limit of objects and `$or`s, so that validation never exhausts the Python stack."""

Alternative = tuple[Condition, ...]


@dataclass
class _Node:
    """Conditions AND-ed with groups of alternatives (one group per `$or`)."""

    conditions: list[Condition] = field(default_factory=list)
    groups: list[list[_Node]] = field(default_factory=list)


def _parse_object(obj: dict[Any, Any], path: tuple[str, ...], loc: list[str | int], into: _Node) -> None:
    if len(loc) > MAX_DEPTH:
        raise PatternError(format_path(loc), f"nested deeper than {MAX_DEPTH} levels")
    for key, value in obj.items():
        if not isinstance(key, str):
            raise PatternError(format_path(loc), f"keys must be strings, got {json_type(key)}")
        if key == "$or":
            into.groups.append(_parse_or(value, path, [*loc, key]))
        elif isinstance(value, dict):
            if not value:
                raise PatternError(format_path([*loc, key]), "empty object: a nested pattern needs fields")
            _parse_object(value, (*path, *key.split(".")), [*loc, key], into)
        else:
            where = format_path([*loc, key])
            into.conditions.append(Condition((*path, *key.split(".")), parse_leaf(value, where)))


def _parse_or(value: object, path: tuple[str, ...], loc: list[str | int]) -> list[_Node]:
    where = format_path(loc)
    if not isinstance(value, list):
        raise PatternError(where, f"$or must be an array of patterns, got {json_type(value)}")
    if not value:
        raise PatternError(where, "empty array: $or needs at least one pattern")
    alternatives: list[_Node] = []
    for i, sub in enumerate(value):
        if not isinstance(sub, dict) or not sub:
            kind = "an empty object" if isinstance(sub, dict) else json_type(sub)
            raise PatternError(
                format_path([*loc, i]), f"$or alternatives must be non-empty objects, got {kind}"
            )
        node = _Node()
        _parse_object(sub, path, [*loc, i], node)
        alternatives.append(node)
    return alternatives


def _expand(node: _Node) -> list[Alternative]:
    """Multiply `$or` groups out into a disjunction of plain conjunctions (DNF).

    A branch of a `$or` of two or more replaces, for that branch, the conditions already gathered
    on the paths it names (event-ruler's rule); a `$or` of one (this module's widening) AND-s."""
    alternatives: list[Alternative] = [tuple(node.conditions)]
    for group in node.groups:
        options = [alt for sub in group for alt in _expand(sub)]
        replace = len(group) >= 2
        alternatives = [_join(a, b, replace) for a in alternatives for b in options]
        if len(alternatives) > MAX_ALTERNATIVES:
            raise PatternError("$or", f"too complex: expands to more than {MAX_ALTERNATIVES} alternatives")
    return alternatives


def _join(outer: Alternative, branch: Alternative, replace: bool) -> Alternative:
    if replace:
        named = {c.path for c in branch}
        outer = tuple(c for c in outer if c.path not in named)
    return outer + branch


def _dedupe(alternatives: list[Alternative]) -> tuple[Alternative, ...]:
    seen: set[frozenset[tuple[tuple[str, ...], str]]] = set()
    out: list[Alternative] = []
    for alt in alternatives:
        unique = {(c.path, c.leaf.key): c for c in alt}
        signature = frozenset(unique)
        if signature not in seen:
            seen.add(signature)
            out.append(tuple(unique.values()))
    return tuple(out)


class CompiledPattern:
    """A validated pattern, ready to match many events; immutable and safe to share across threads."""

    __slots__ = ("_machine", "alternatives", "source")

    def __init__(self, source: dict[str, Any], alternatives: tuple[Alternative, ...]) -> None:
        self.source = source
        self.alternatives = alternatives
        self._machine: Machine | None = None

    def matches(self, event: dict[str, Any]) -> bool:
        """Whether `event` (a JSON object) satisfies the pattern."""
        if not isinstance(event, dict):
            raise TypeError(f"an event must be a JSON object, got {json_type(event)}")
        machine = self._machine
        if machine is None:  # built on first use: a RuleSet only needs `alternatives`
            machine = self._machine = Machine([("", self.alternatives)])  # a racing twin is identical
        return machine.matches_any(event)

    def __repr__(self) -> str:
        return f"CompiledPattern({json.dumps(self.source, sort_keys=True)})"


def compile_pattern(pattern: object) -> CompiledPattern:
    """Validate once (raising `PatternError`) so that matching never has to."""
    if not isinstance(pattern, dict):
        raise PatternError("", f"a pattern must be a JSON object, got {json_type(pattern)}")
    root = _Node()
    _parse_object(pattern, (), [], root)
    alternatives = _dedupe(_expand(root))
    _check_wildcards(alternatives)
    return CompiledPattern(pattern, alternatives)


def _check_wildcards(alternatives: tuple[Alternative, ...]) -> None:
    """Refuse, as AWS does, wildcards that would keep too many partial matches alive at once
    (`complexity.py`); a field's wildcards are measured together, over every alternative."""
    by_path: dict[tuple[str, ...], list[Wildcard]] = {}
    for alternative in alternatives:
        for c in alternative:
            if found := wildcards_of(c.leaf.matchers):
                by_path.setdefault(c.path, []).extend(found)
    for path, wildcards in by_path.items():
        if complexity(wildcards) > MAX_COMPLEXITY:
            raise PatternError(".".join(path), TOO_COMPLEX)


@lru_cache(maxsize=2048)
def _compile_canonical(canonical: str) -> CompiledPattern:
    return compile_pattern(json.loads(canonical))


def canonical_json(pattern: object) -> str:
    """The cache key: key order and whitespace do not matter; `1`, `1.0` and `true` stay distinct."""
    try:
        return json.dumps(pattern, sort_keys=True, separators=(",", ":"), allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise PatternError("", f"a pattern must be JSON: {exc}") from None


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Evaluate one pattern against one event; compiled patterns are cached by canonical JSON."""
    return _compile_canonical(canonical_json(pattern)).matches(event)
