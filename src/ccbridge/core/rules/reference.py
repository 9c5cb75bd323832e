"""A slow, obvious evaluator of event patterns, written straight from the definition.

It exists only to be compared with the compiled matcher and the `RuleSet` index by the property
tests, so it shares none of their code: it reads the raw pattern dict on every call and tests each
operator literally (wildcards by a textbook recursive glob match, not a regex). It assumes the
pattern is valid; validate it with `compile_pattern` first.
"""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import Any

from ccbridge.core.rules.reading import values_at


def reference_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether `event` satisfies the (valid) `pattern`, under the semantics in `patterns.py`."""
    return any(
        all(_leaf(leaf, values_at(event, parts)) for parts, leaf in conjunction)
        for conjunction in _disjunction(pattern, ())
    )


Conjunction = list[tuple[tuple[str, ...], list[Any]]]
Ors = list[tuple[tuple[str, ...], list[dict[str, Any]]]]


def _disjunction(pattern: dict[str, Any], prefix: tuple[str, ...]) -> list[Conjunction]:
    """The pattern written out as ORs of ANDs of (dotted path parts, leaf); a branch of a `$or` of
    two or more drops what was gathered before on the paths it names."""
    own: Conjunction = []
    ors: Ors = []
    _gather(pattern, prefix, own, ors)
    result: list[Conjunction] = [own]
    for at, branches in ors:
        grown: list[Conjunction] = []
        for so_far in result:
            for branch in branches:
                for option in _disjunction(branch, at):
                    named = {parts for parts, _ in option}
                    kept = [c for c in so_far if c[0] not in named] if len(branches) > 1 else so_far
                    grown.append(kept + option)
        result = grown
    return result


def _gather(pattern: dict[str, Any], prefix: tuple[str, ...], own: Conjunction, ors: Ors) -> None:
    for key, sub in pattern.items():
        if key == "$or":
            ors.append((prefix, sub))
        elif isinstance(sub, dict):
            _gather(sub, (*prefix, *key.split(".")), own, ors)
        else:
            own.append(((*prefix, *key.split(".")), sub))


def _leaf(items: list[Any], values: list[Any]) -> bool:
    for item in items:
        if isinstance(item, dict):
            ((op, arg),) = item.items()
            if op == "exists":
                if arg == (len(values) > 0):
                    return True
            elif any(_operator(op, arg, v) for v in values):
                return True
        elif any(_same(item, v) for v in values):
            return True
    return False


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _operator(op: str, arg: Any, v: Any) -> bool:
    if op == "anything-but":
        if isinstance(arg, dict):
            ((name, inner),) = arg.items()
            texts = inner if isinstance(inner, list) else [inner]
            return not any(_operator(name, t, v) for t in texts)
        excluded = arg if isinstance(arg, list) else [arg]
        return not any(_same(x, v) for x in excluded)
    if op == "numeric":
        return _is_number(v) and all(_compare(o, v, n) for o, n in zip(arg[0::2], arg[1::2], strict=True))
    if not isinstance(v, str):
        return False
    if op in ("prefix", "suffix"):
        text, value = arg, v
        if isinstance(arg, dict):
            text, value = arg["equals-ignore-case"].casefold(), v.casefold()
        return value.startswith(text) if op == "prefix" else value.endswith(text)
    if op == "equals-ignore-case":
        return bool(v.casefold() == arg.casefold())
    if op == "wildcard":
        return _glob(tuple(_wildcard_tokens(arg)), v)
    if op == "cidr":
        try:
            address = ipaddress.ip_address(v)
        except ValueError:
            return False
        network = ipaddress.ip_network(arg, strict=False)
        return address.version == network.version and address in network
    raise AssertionError(f"unknown operator {op}")


def _compare(op: str, v: float, n: float) -> bool:
    return {"=": v == n, "<": v < n, "<=": v <= n, ">": v > n, ">=": v >= n}[op]


_STAR = object()


def _wildcard_tokens(text: str) -> list[Any]:
    tokens: list[Any] = []
    i = 0
    while i < len(text):
        if text[i] == "\\":
            tokens.append(text[i + 1])
            i += 2
        else:
            tokens.append(_STAR if text[i] == "*" else text[i])
            i += 1
    return tokens


def _glob(tokens: tuple[Any, ...], text: str) -> bool:
    @cache
    def match(i: int, j: int) -> bool:
        if i == len(tokens):
            return j == len(text)
        if tokens[i] is _STAR:
            return match(i + 1, j) or (j < len(text) and match(i, j + 1))
        return j < len(text) and tokens[i] == text[j] and match(i + 1, j + 1)

    return match(0, 0)
