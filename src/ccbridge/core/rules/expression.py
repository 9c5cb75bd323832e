"""Genesys-style filter expressions (seed 002), e.g. `data.channel == 'voice' && data.duration > 120`.

Grammar (a hand-written tokenizer and recursive-descent parser; nothing is ever evaluated)::

    expr       := and ("||" and)*
    and        := unary ("&&" unary)*
    unary      := "!" unary | "(" expr ")" | comparison
    comparison := path op literal | literal op path | path "in" "[" literal ("," literal)* "]"
                | path "contains" literal
    op         := "==" | "!=" | ">" | ">=" | "<" | "<="
    path       := name ("." name | "[" string "]")*        relative to the whole document
    literal    := string ('…' or "…", JSON escapes) | number | true | false | null

Semantics are SQL's three-valued logic with a missing field as NULL, which is what an event
pattern can express exactly:
- a comparison on a missing field is unknown, and so is its negation: `x != 'a'`, `!(x == 'a')`,
  `!(x > 5)` are all false when `x` is missing (like EventBridge `anything-but`); JSON `null` is an
  ordinary value (`x == null` holds only for a present null);
- ordering comparisons need a number literal and are unknown for non-number values;
- `!` is pushed down by De Morgan until it meets a comparison, which it flips (`==`/`!=`,
  `>`/`<=`, `in`/not-in); an unknown result at the top means "no match";
- on an array field a comparison holds if any element satisfies it, so `x == 1` and `x != 1` can
  both hold for `[1, 2]`;
- `x contains 'Sale'` (seed 002's "wrapupcode contains \"Sale\"") holds when a string value
  contains the substring, or an array holds a string element containing it (so an array holding
  `'Sale'` itself matches); it compiles to a `wildcard` with `*` and `\\` escaped. With a number,
  boolean or null it holds for a value, or an array element, equal to it. Its negation holds for a
  present value that does not (`anything-but` the same wildcard or value).
Negating a comparison against a list that mixes kinds (e.g. `!(x in ['a', 1])`) has no exact
pattern and is refused.
"""

from __future__ import annotations

from typing import Any

from ccbridge.core.rules.errors import PatternError
from ccbridge.core.rules.expression_parser import Compare, Node, Not, Op, parse_expression
from ccbridge.core.rules.logic import All, AnyOf, Cond, Expr, substring_wildcard, to_pattern
from ccbridge.core.rules.patterns import compile_pattern

_FLIP = {
    "==": "!=",
    "!=": "==",
    ">": "<=",
    ">=": "<",
    "<": ">=",
    "<=": ">",
    "in": "not in",
    "not in": "in",
    "contains": "not contains",
    "not contains": "contains",
}
_ANY_NUMBER = ({"numeric": ["<", 0]}, {"numeric": [">=", 0]})


def expression_to_pattern(expr: str) -> dict[str, Any]:
    """Compile a filter expression into an equivalent event pattern (see the module docstring)."""
    if not isinstance(expr, str):
        raise PatternError("filter", "a filter expression must be a string")
    pattern = to_pattern(_lower(parse_expression(expr), negated=False))
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        raise PatternError("filter", exc.reason) from None
    return pattern


def _lower(node: Node, negated: bool) -> Expr:
    if isinstance(node, Not):
        return _lower(node.operand, not negated)
    if isinstance(node, Op):
        items = tuple(_lower(item, negated) for item in node.items)
        is_and = (node.kind == "&&") != negated
        return All(items) if is_and else AnyOf(items)
    op = _FLIP[node.op] if negated else node.op
    return Cond(node.path, _leaf(node, op))


def _leaf(node: Compare, op: str) -> tuple[Any, ...]:
    if op in ("contains", "not contains"):
        return _contains(node, negated=op == "not contains")
    if op == "==":
        return (node.values[0],)
    if op == "in":
        return node.values
    if op in ("!=", "not in"):
        return _complement(node)
    return ({"numeric": [op, node.values[0]]},)


def _contains(node: Compare, negated: bool) -> tuple[Any, ...]:
    (value,) = node.values
    if not isinstance(value, str):
        return _complement(node) if negated else (value,)
    wildcard = substring_wildcard(value)
    return ({"anything-but": wildcard},) if negated else (wildcard,)


def _complement(node: Compare) -> tuple[Any, ...]:
    """A leaf holding for a present value that equals none of `node.values`."""
    values = node.values
    strings = [v for v in values if isinstance(v, str)]
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(strings) == len(values) or len(numbers) == len(values):
        return ({"anything-but": list(values) if len(values) > 1 else values[0]},)
    if strings or numbers:
        raise PatternError(
            "filter",
            f"cannot negate a comparison against a mix of strings, numbers, booleans and null "
            f"at column {node.column}",
        )
    others = tuple(v for v in (True, False, None) if not any(v is x for x in values))
    return ({"wildcard": "*"}, *_ANY_NUMBER, *others)
