"""Reading an event once, at exactly the paths the rules mention (`machine.py` then looks values up).

The paths form a trie of keys; each path has an id, and an event's values land in a list indexed
by path id: a scalar, `MISSING`, or `Many` scalars when arrays give a path several. Arrays are
transparent at any depth and objects are not values (`patterns.py` has the semantics).

Keys join with dots, as in event-ruler: the path `("x", "s", "t")` is also found under an event key
`"s.t"` of `x`, or `"x.s.t"` at the top. The trie therefore also holds, at each level, every dotted
chain of the keys below it, so reading an event stays a fixed number of dict lookups per entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MISSING: Any = object()
"""A wanted path the event does not have. Hashable and equal only to itself, so matching tables can
keep their `exists: false` targets under it and a missing value needs no test of its own."""

KeyTrie = tuple[tuple[str, int, "KeyTrie"], ...]
"""`(key, path id or -1, children)` per key: -1 where a key only leads on to longer paths."""


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

    frozen: dict[int, KeyTrie] = {}

    def freeze(node: dict[str, Any]) -> KeyTrie:
        if (done := frozen.get(id(node))) is not None:
            return done
        entries: list[tuple[str, int, KeyTrie]] = []
        for key, (pid, sub) in node.items():
            entries.append((key, pid, freeze(sub)))
            entries.extend((f"{key}.{rest}", p, onward) for rest, p, onward in chains(sub))
        frozen[id(node)] = result = tuple(entries)
        return result

    def chains(node: dict[str, Any]) -> list[tuple[str, int, KeyTrie]]:
        """Every dotted chain of keys below `node` (`b`, `b.c`, ...) with where it leads."""
        out: list[tuple[str, int, KeyTrie]] = []
        for key, (pid, sub) in node.items():
            out.append((key, pid, freeze(sub)))
            out.extend((f"{key}.{rest}", p, onward) for rest, p, onward in chains(sub))
        return out

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
    """Fill `out` (a list of `MISSING`s, one per path id) with the scalars of `obj` at every path of
    `keys`; True when some path got several (`Many`). Only the keys the trie names are read, and an
    object is descended only as deep as the trie goes."""
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
