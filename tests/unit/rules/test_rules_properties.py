"""Property tests: the index, the compiled matcher and the expression compiler agree with references."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccbridge.rules import PatternError, RuleSet, compile_pattern, expression_to_pattern, reference_matches

KEYS = ["a", "b", "c", "a.b", "b.c"]
"""Dotted keys too: AWS joins keys with dots, so `a.b` is the path a, b in patterns and events."""
STRINGS = ["", "a", "ab", "abc", "b", "A", "AB", "a*b", "a\\b", "x.png", "X.PNG", "straße", "STRASSE"]
ADDRESSES = ["10.0.0.1", "10.0.1.5", "010.0.0.1", "2001:db8::1", "2001:db9::", "::1"]
NUMBERS: list[int | float] = [0, 1, -1, 1.5, 2, 300, 300.0, 10**20, 1e20, -2.5, 0.1]
SCALARS = st.sampled_from([*STRINGS, *ADDRESSES, *NUMBERS, True, False, None])

settings.register_profile(
    "rules", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def events() -> st.SearchStrategy[dict[str, Any]]:
    """Small JSON objects over few keys and values, with nested objects and arrays of both."""
    values = st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
        max_leaves=8,
    )
    return st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=3)


WILDCARDS = ["*", "a*", "*b", "a*b", "*b*", "a\\*b", "*a*b*", "\\\\*", "a*c*", "x*", "*.png", "*\\**"]
CIDRS = ["10.0.0.0/24", "10.0.0.0/8", "2001:db8::/32", "::/0", "0.0.0.0/0", "10.0.1.4/31"]
TEXT = st.sampled_from(STRINGS)


@st.composite
def numerics(draw: st.DrawFn) -> dict[str, Any]:
    low, high = sorted(draw(st.lists(st.sampled_from(NUMBERS), min_size=2, max_size=2, unique_by=float)))
    shape = draw(st.sampled_from(["=", ">", ">=", "<", "<=", "range"]))
    if shape != "range":
        return {"numeric": [shape, low]}
    return {"numeric": [draw(st.sampled_from([">", ">="])), low, draw(st.sampled_from(["<", "<="])), high]}


def _texts() -> st.SearchStrategy[Any]:
    return TEXT | st.lists(TEXT, min_size=1, max_size=2)


def _affixes() -> st.SearchStrategy[Any]:
    """What `anything-but` takes as a prefix or suffix: never "" (AWS refuses it)."""
    some = st.sampled_from([t for t in STRINGS if t])
    return some | st.lists(some, min_size=1, max_size=2)


OPERATORS = st.one_of(
    st.builds(lambda s: {"prefix": s}, TEXT),
    st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, TEXT),
    st.builds(lambda s: {"suffix": s}, TEXT),
    st.builds(lambda s: {"suffix": {"equals-ignore-case": s}}, TEXT),
    st.builds(lambda s: {"equals-ignore-case": s}, TEXT),
    st.builds(lambda s: {"wildcard": s}, st.sampled_from(WILDCARDS)),
    st.builds(lambda s: {"cidr": s}, st.sampled_from(CIDRS)),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    numerics(),
    st.builds(lambda s: {"anything-but": s}, st.sampled_from([*STRINGS, *NUMBERS])),
    st.builds(lambda s: {"anything-but": s}, st.lists(TEXT, min_size=1, max_size=3)),
    st.builds(lambda s: {"anything-but": s}, st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3)),
    st.builds(lambda k, s: {"anything-but": {k: s}}, st.sampled_from(["prefix", "suffix"]), _affixes()),
    st.builds(lambda s: {"anything-but": {"equals-ignore-case": s}}, _texts()),
    st.builds(lambda s: {"anything-but": {"wildcard": s}}, st.sampled_from(WILDCARDS)),
)
LEAVES = st.lists(SCALARS | OPERATORS, min_size=1, max_size=3)


def _accepted(pattern: dict[str, Any]) -> bool:
    """What AWS would take: a few generated unions of wildcards on one field are too complex."""
    try:
        compile_pattern(pattern)
    except PatternError:
        return False
    return True


def patterns() -> st.SearchStrategy[dict[str, Any]]:
    """Valid patterns: nested objects, leaves of values and operators, and $or at any level."""
    return st.recursive(
        st.dictionaries(st.sampled_from(KEYS), LEAVES, min_size=1, max_size=2),
        lambda inner: st.builds(
            _combine,
            st.dictionaries(st.sampled_from(KEYS), LEAVES | inner, min_size=0, max_size=2),
            st.none() | st.lists(inner, min_size=1, max_size=3),
        ),
        max_leaves=6,
    ).filter(_accepted)


def _combine(fields: dict[str, Any], alternatives: list[dict[str, Any]] | None) -> dict[str, Any]:
    pattern = dict(fields)
    if alternatives:
        pattern["$or"] = alternatives
    return pattern or {"a": ["a"]}


@settings(settings.get_profile("rules"))
@given(st.lists(patterns(), min_size=1, max_size=25), st.lists(events(), min_size=1, max_size=8))
def test_ruleset_agrees_with_reference(rules: list[dict[str, Any]], docs: list[dict[str, Any]]) -> None:
    """For random patterns and events, RuleSet.matching returns exactly the ids reference_matches accepts."""
    ruleset = RuleSet({str(i): p for i, p in enumerate(rules)})
    for event in docs:
        expected = {str(i) for i, p in enumerate(rules) if reference_matches(p, event)}
        assert ruleset.matching(event) == expected, json.dumps(event)


FIELD_VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.just({"nested": "object"}))


@settings(settings.get_profile("rules"))
@given(
    st.lists(LEAVES.filter(lambda leaf: _accepted({"k": leaf})), min_size=1, max_size=40),
    st.lists(st.none() | FIELD_VALUES, min_size=1, max_size=10),
)
def test_many_leaves_on_one_field_agree_with_reference(leaves: list[list[Any]], values: list[Any]) -> None:
    """Many rules on one field share one value index, which must still answer like the reference."""
    rules = {str(i): {"k": leaf} for i, leaf in enumerate(leaves)}
    ruleset = RuleSet(rules)
    for value in values:
        event = {} if value is None else {"k": value}
        expected = {i for i, p in rules.items() if reference_matches(p, event)}
        assert ruleset.matching(event) == expected, json.dumps(event)


@settings(settings.get_profile("rules"))
@given(patterns(), st.lists(events(), min_size=1, max_size=8))
def test_compiled_pattern_agrees_with_reference(pattern: dict[str, Any], docs: list[dict[str, Any]]) -> None:
    """A single compiled pattern gives the reference answer on every random event."""
    compiled = compile_pattern(pattern)
    for event in docs:
        assert compiled.matches(event) is reference_matches(pattern, event)


# --- filter expressions: text -> pattern vs. a direct evaluation of the documented semantics ---

PATHS = ["data.a", "data.b", "data.c.d"]
LITERALS = ["'a'", '"b"', "'a*b'", "1", "2.5", "-1", "true", "false", "null"]
VALUES: dict[str, Any] = {"'a'": "a", '"b"': "b", "'a*b'": "a*b", "1": 1, "2.5": 2.5, "-1": -1}
VALUES.update({"true": True, "false": False, "null": None})
FLIP = {"==": "!=", "!=": "==", ">": "<=", ">=": "<", "<": ">=", "<=": ">", "in": "not in", "not in": "in"}
FLIP.update({"contains": "not contains", "not contains": "contains"})

Node = tuple[Any, ...]


@st.composite
def comparisons(draw: st.DrawFn) -> Node:
    path = draw(st.sampled_from(PATHS))
    op = draw(st.sampled_from(["==", "!=", ">", ">=", "<", "<=", "in", "contains"]))
    if op == "in":
        kind = draw(st.sampled_from([["'a'", '"b"', "'a*b'"], ["1", "2.5", "-1"], ["true", "false", "null"]]))
        return ("cmp", path, op, draw(st.lists(st.sampled_from(kind), min_size=1, max_size=3, unique=True)))
    literals = ["1", "2.5", "-1"] if op in (">", ">=", "<", "<=") else LITERALS
    return ("cmp", path, op, [draw(st.sampled_from(literals))])


EXPRESSIONS = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.tuples(st.just("!"), inner),
        st.tuples(st.sampled_from(["&&", "||"]), inner, inner),
    ),
    max_leaves=6,
)


def render(node: Node) -> str:
    if node[0] == "cmp":
        _, path, op, literals = node
        if op == "contains":
            return f"{path} contains {literals[0]}"
        return f"{path} in [{', '.join(literals)}]" if op == "in" else f"{path} {op} {literals[0]}"
    if node[0] == "!":
        return f"!({render(node[1])})"
    return f"({render(node[1])}) {node[0]} ({render(node[2])})"


def values_at(document: Any, path: str) -> list[Any]:
    found = [document]
    for key in path.split("."):
        found = [
            child
            for node in _spread(found)
            if isinstance(node, dict) and key in node
            for child in [node[key]]
        ]
    return [v for v in _spread(found) if not isinstance(v, dict)]


def _spread(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.extend(_spread(item) if isinstance(item, list) else [item])
    return out


def same(a: Any, b: Any) -> bool:
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
    return bool(a == b) if numbers else type(a) is type(b) and bool(a == b)


def compare(v: Any, op: str, literals: list[Any]) -> bool:
    if op in ("contains", "not contains"):
        x = literals[0]
        found = x in v if isinstance(x, str) and isinstance(v, str) else not isinstance(x, str) and same(v, x)
        return found if op == "contains" else not found
    if op in ("==", "in"):
        return any(same(v, x) for x in literals)
    if op in ("!=", "not in"):
        return not any(same(v, x) for x in literals)
    if not isinstance(v, int | float) or isinstance(v, bool):
        return False
    x = literals[0]
    return bool({">": v > x, ">=": v >= x, "<": v < x, "<=": v <= x}[op])


def holds(node: Node, document: dict[str, Any], negated: bool = False) -> bool:
    """The documented semantics: negation pushed to comparisons, each true if any value satisfies it."""
    if node[0] == "!":
        return holds(node[1], document, not negated)
    if node[0] in ("&&", "||"):
        conjunction = (node[0] == "&&") != negated
        results = [holds(child, document, negated) for child in node[1:]]
        return all(results) if conjunction else any(results)
    _, path, op, literals = node
    op = FLIP[op] if negated else op
    return any(compare(v, op, [VALUES[x] for x in literals]) for v in values_at(document, path))


EXPRESSION_DOCS = st.fixed_dictionaries(
    {
        "data": st.dictionaries(
            st.sampled_from(["a", "b", "c"]),
            st.recursive(
                st.sampled_from(list(VALUES.values())),
                lambda inner: st.lists(inner, max_size=3) | st.fixed_dictionaries({"d": inner}),
                max_leaves=4,
            ),
            min_size=2,
            max_size=3,
        )
    }
)


@settings(settings.get_profile("rules"))
@given(EXPRESSIONS, st.lists(EXPRESSION_DOCS, min_size=1, max_size=6))
def test_expression_pattern_keeps_meaning(node: Node, docs: list[dict[str, Any]]) -> None:
    """An expression's pattern matches exactly when the documented three-valued semantics say it holds."""
    text = render(node)
    pattern = expression_to_pattern(text)
    for document in docs:
        assert reference_matches(pattern, document) is holds(node, document), (text, pattern, document)
