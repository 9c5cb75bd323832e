"""The tables a `ValueIndex` is made of: targets keyed by a value, and by a value's head or tail.

A table maps a key to the targets (automaton states, typed loosely as `Target`) that a value with
that key reaches, each target once per key (`add_target`); it is built mutable and read frozen
(`freeze`). `Affixes` groups prefix (or suffix) keys by length, so a value costs one slice and one
lookup per distinct length (`probe`), not a test per key; `Tails` does the same for the literal tails
of the `head*...*tail` wildcards sharing one head.
"""

from __future__ import annotations

from typing import Any

Target = Any  # an automaton state; typed loosely to keep this module free of a cycle
Entries = dict[Any, list[Target]]


def add_target(table: Entries, key: object, target: Target) -> None:
    """File `target` under `key`, once."""
    bucket = table.setdefault(key, [])
    if target not in bucket:
        bucket.append(target)


def freeze(table: Entries) -> dict[Any, tuple[Target, ...]]:
    return {k: tuple(v) for k, v in table.items()}


class Affixes:
    """Prefix (or suffix) strings grouped by length: one slice and one lookup per distinct length."""

    __slots__ = ("lengths", "table")

    def __init__(self, table: Entries) -> None:
        self.table = freeze(table)
        self.lengths = tuple(sorted({len(k) for k in table}))


class Tails:
    """The `head*...*tail` wildcards sharing one literal head, keyed by their literal tail.

    Once the head is found, a value costs one lookup per distinct tail length, not a test per
    wildcard (a thousand `user1*@example-N.com` subscriptions share the head `user1`)."""

    __slots__ = ("lengths", "table")

    def __init__(self, checks: list[tuple[str, int, Any, Target]]) -> None:
        table: dict[str, list[tuple[int, Any, Target]]] = {}
        for tail, least, regex, target in checks:
            table.setdefault(tail, []).append((least, regex, target))
        self.table = {tail: tuple(v) for tail, v in table.items()}
        self.lengths = tuple(sorted({len(tail) for tail in table}))

    def collect(self, v: str, n: int, out: list[Target]) -> None:
        """`v` (of length `n`) starts with the head; append the targets it fully matches."""
        for length in self.lengths:
            if length > n:
                break
            hit = self.table.get(v[n - length :])
            if hit:
                # `least` (all literals' length) rules out a head and tail that overlap in `v`.
                for least, regex, t in hit:
                    if n >= least and (regex is None or regex.fullmatch(v)):
                        out.append(t)


def probe(affixes: Affixes, v: str, n: int, at_start: bool, out: list[Any]) -> None:
    """Append what the head (`at_start`) or the tail of `v` (of length `n`) is filed under."""
    table = affixes.table
    for length in affixes.lengths:
        if length > n:
            break
        hit = table.get(v[:length] if at_start else v[n - length :])
        if hit:
            out.extend(hit)
