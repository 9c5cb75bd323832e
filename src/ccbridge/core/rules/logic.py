"""AND/OR trees of field conditions, written out as event patterns.

Both small filter forms (CXone `filters`, Genesys expressions) reduce to these trees. Writing them as
a pattern is exact, never an approximation:
- an OR of conditions on one path becomes one leaf (a leaf is already an OR);
- other ORs become `$or`; an object holds one `$or`, so when an AND has several ORs the first is
  distributed over the rest;
- two conditions on the same path cannot share one key, so the later one is AND-ed through a
  one-element `$or` (a widening of EventBridge syntax that `patterns.py` accepts);
- a condition is never placed beside a `$or` (of two or more) whose branches name its path, since
  such a branch would replace it (event-ruler's rule, `patterns.py`): it goes into every branch.
Conditions are not merged (`x > 5 && x < 9` stays two conditions): on an array field each may be met
by a different element, and the pattern must say exactly that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Cond:
    """`leaf` is a pattern leaf (a non-empty list of values and operator objects) at `path`."""

    path: tuple[str, ...]
    leaf: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Expr, ...]


Expr = Cond | All | AnyOf


def substring_wildcard(text: str) -> dict[str, str]:
    """The `wildcard` operator that holds for a string containing `text` (its `*` and `\\` escaped)."""
    escaped = text.replace("\\", "\\\\").replace("*", "\\*")
    return {"wildcard": f"*{escaped}*" if escaped else "*"}


def to_pattern(expr: Expr) -> dict[str, Any]:
    """The event pattern that holds exactly when `expr` does; `All(())` gives `{}` (always true)."""
    expr = _simplify(expr)
    if isinstance(expr, Cond):
        return _nest(expr)
    if isinstance(expr, AnyOf):
        return {"$or": [to_pattern(item) for item in expr.items]}
    return _emit_all(expr.items)


def _simplify(expr: Expr) -> Expr:
    """Flatten nested ANDs/ORs, drop single-item wrappers, merge same-path conditions under OR."""
    if isinstance(expr, Cond):
        return expr
    kind = type(expr)
    items: list[Expr] = []
    for item in (_simplify(i) for i in expr.items):
        items.extend(item.items if type(item) is kind and not isinstance(item, Cond) else (item,))
    if kind is AnyOf:
        items = _merge_same_path(items)
    if len(items) == 1:
        return items[0]
    return All(tuple(items)) if kind is All else AnyOf(tuple(items))


def _merge_same_path(items: list[Expr]) -> list[Expr]:
    merged: dict[tuple[str, ...], int] = {}
    out: list[Expr] = []
    for item in items:
        if isinstance(item, Cond) and item.path in merged:
            at = merged[item.path]
            previous = out[at]
            assert isinstance(previous, Cond)
            out[at] = Cond(item.path, _union(previous.leaf, item.leaf))
        else:
            if isinstance(item, Cond):
                merged[item.path] = len(out)
            out.append(item)
    return out


def _union(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    seen = {json.dumps(x, sort_keys=True) for x in a}
    return a + tuple(x for x in b if json.dumps(x, sort_keys=True) not in seen)


def _nest(cond: Cond) -> dict[str, Any]:
    pattern: dict[str, Any] = {cond.path[-1]: list(cond.leaf)}
    for key in reversed(cond.path[:-1]):
        pattern = {key: pattern}
    return pattern


def _place(target: dict[str, Any], cond: Cond) -> bool:
    """Put `cond` into `target` unless its path is already taken there."""
    node = target
    for key in cond.path[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            return False
        node = child
    if cond.path[-1] in node:
        return False
    node[cond.path[-1]] = list(cond.leaf)
    return True


def _paths(expr: Expr) -> set[tuple[str, ...]]:
    if isinstance(expr, Cond):
        return {expr.path}
    return {p for item in expr.items for p in _paths(item)}


def _emit_all(items: tuple[Expr, ...]) -> dict[str, Any]:
    """An AND as a pattern. A condition on a path that some OR among `items` also names is not
    placed beside that `$or` (a branch naming the path would replace it: `patterns.py`) but AND-ed
    into every branch of the first OR, like the other ORs and the conditions that found their key
    taken."""
    pattern: dict[str, Any] = {}
    ors = [item for item in items if isinstance(item, AnyOf)]
    in_ors = {p for o in ors for p in _paths(o)}
    deferred: list[Expr] = []
    for item in items:
        if isinstance(item, AnyOf):
            continue
        if isinstance(item, Cond) and item.path not in in_ors and _place(pattern, item):
            continue
        deferred.append(item)  # (a nested All was flattened by _simplify: only Conds get here)
    if ors:
        rest = (*ors[1:], *deferred)
        pattern["$or"] = [to_pattern(All((alt, *rest)) if rest else alt) for alt in ors[0].items]
    elif deferred:
        pattern["$or"] = [to_pattern(All(tuple(deferred)))]
    return pattern
