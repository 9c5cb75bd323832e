"""Reading an event once, at exactly the paths the rules mention (`machine.py` then looks values up).

The paths form a trie of keys; each path has an id, and an event's values land in a list indexed
by path id: a scalar, `MISSING`, or `Many` scalars when arrays give a path several. Arrays are
transparent at any depth and objects are not values (`patterns.py` has the semantics).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

MISSING: Any = object()
"""A wanted path the event does not have. Hashable and equal only to itself, so matching tables can
keep their `exists: false` targets under it and a missing value needs no test of its own."""

KeyTrie = tuple[tuple[str, int, "KeyTrie"], ...]
"""`(key, path id or -1, children)` per key: -1 where a key only leads on to longer paths."""

Extractor = Callable[[dict[str, Any], list[Any]], bool]
"""Fills a list of `MISSING`s with an event's values; True when some path got several (`Many`)."""


class Many(list[Any]):
    """Several values at one path; a bare scalar stands for exactly one, which saves a list per
    field in the usual case."""

    __slots__ = ()


def key_trie(paths: Iterable[tuple[tuple[str, ...], int]]) -> KeyTrie:
    """The trie of `(path, path id)` pairs."""
    tree: dict[str, Any] = {}
    for path, pid in paths:
        node = tree
        for i, key in enumerate(path):
            entry = node.setdefault(key, [-1, {}])
            if i == len(path) - 1:
                entry[0] = pid
            node = entry[1]

    def freeze(node: dict[str, Any]) -> KeyTrie:
        return tuple((key, pid, freeze(sub)) for key, (pid, sub) in node.items())

    return freeze(tree)


def add(out: list[Any], pid: int, value: Any) -> bool:
    """Record `value` at `pid`; True when the path now holds several values."""
    previous = out[pid]
    if previous is MISSING:
        out[pid] = value
        return False
    if type(previous) is Many:
        previous.append(value)
    else:
        out[pid] = Many((previous, value))
    return True


def flatten(keys: KeyTrie, obj: dict[str, Any], out: list[Any]) -> bool:
    """Collect the scalars at every wanted path (the `Extractor` of any trie, by walking it)."""
    several = False
    for key, pid, sub in keys:
        value = obj.get(key, MISSING)
        if value is MISSING:
            continue
        kind = type(value)
        if kind is dict:
            if sub and flatten(sub, value, out):
                several = True
        elif kind is list:
            if crush(value, pid, sub, out):
                several = True
        elif pid >= 0:
            if out[pid] is MISSING:  # the usual case, without a call
                out[pid] = value
            else:
                several = add(out, pid, value) or several
    return several


def crush(items: list[Any], pid: int, sub: KeyTrie, out: list[Any]) -> bool:
    """Arrays at any depth, iteratively: an attacker's deeply nested array costs no recursion."""
    several = False
    pending = [items]
    while pending:
        for value in pending.pop():
            kind = type(value)
            if kind is dict:
                if sub and flatten(sub, value, out):
                    several = True
            elif kind is list:
                pending.append(value)
            elif pid >= 0 and add(out, pid, value):
                several = True
    return several


INLINE_DEPTH = 24
"""Trie levels `extractor` writes out (two indentation levels each; Python allows 100)."""

INLINE_KEYS = 2048
"""Above this many keys in the trie, `extractor` leaves the walk to `flatten`: a function that long
takes a while to compile, for little gain."""


def extractor(keys: KeyTrie) -> Extractor:
    """`flatten` for this trie, generated as straight-line code: a `dict.get` per key, with no loop,
    tuple unpacking or call per level, which makes it about twice as fast.

    Only objects are descended inline; arrays (at any depth) go to `crush`, and levels past
    `INLINE_DEPTH` to `flatten`, which both record values with `add`. Inline, each path is met at
    most once per event (an array is the only way to meet it again, and arrays are left to `crush`
    for the whole subtree), so its scalar is stored directly. Keys enter the source as `repr()`
    literals, which read back as exactly the same strings."""
    size, pending = 0, [keys]
    while pending:
        level = pending.pop()
        size += len(level)
        pending.extend(sub for _, _, sub in level)
    if size > INLINE_KEYS:
        return lambda event, out: flatten(keys, event, out)
    namespace: dict[str, Any] = {"MISSING": MISSING, "crush": crush, "flatten": flatten}
    lines = ["def extract(o0, out):", "    several = False"]

    def emit(level: KeyTrie, depth: int) -> None:
        pad, obj, value = "    " * (2 * depth + 1), f"o{depth}", f"o{depth + 1}"
        for key, pid, sub in level:
            sub_name = f"S{len(namespace)}"  # the subtrie, for `crush` and `flatten`
            namespace[sub_name] = sub
            lines.append(f"{pad}{value} = {obj}.get({key!r}, MISSING)")
            lines.append(f"{pad}if {value} is not MISSING:")
            lines.append(f"{pad}    kind = type({value})")
            lines.append(f"{pad}    if kind is list:")
            lines.append(f"{pad}        if crush({value}, {pid}, {sub_name}, out):")
            lines.append(f"{pad}            several = True")
            if pid >= 0:
                lines.append(f"{pad}    elif kind is not dict:")
                lines.append(f"{pad}        out[{pid}] = {value}")
            if sub and depth + 1 < INLINE_DEPTH:
                lines.append(f"{pad}    elif kind is dict:")
                emit(sub, depth + 1)
            elif sub:
                lines.append(f"{pad}    elif kind is dict and flatten({sub_name}, {value}, out):")
                lines.append(f"{pad}        several = True")

    emit(keys, 0)
    lines.append("    return several")
    exec("\n".join(lines), namespace)  # the source holds only the names above and repr() literals
    extract: Extractor = namespace["extract"]
    return extract
