"""In which order a conjunction's conditions are threaded into the automaton (`machine.py`).

Any order gives the same answers; it only decides how much work an event costs. An event pays one
lookup per outgoing path of every state it reaches, so the automaton is cheap when the states an
event reaches are few and shared by many rules. Data is unknown when rules are built, so this is
guessed from the rules themselves.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from ccbridge.core.rules.matchers import (
    AnythingBut,
    Cidr,
    EqualsIgnoreCase,
    Exists,
    Leaf,
    Matcher,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
)

Path = tuple[str, ...]
Name = tuple[Path, str]
"""A condition as the automaton shares it: its path and its leaf's canonical key."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One leaf at one path (a tuple of keys, so a key containing a dot stays one key)."""

    path: Path
    leaf: Leaf


def cost(m: Matcher) -> int:
    """How much a lookup costs and how little it narrows: negative operators are tried last."""
    if isinstance(m, Exists):
        return 8 if m.present else 9
    if isinstance(m, AnythingBut):
        return 8
    if isinstance(m, Wildcard):
        return 4
    if isinstance(m, Numeric | Cidr):
        return 3
    if isinstance(m, Suffix) or (isinstance(m, Prefix) and m.fold):
        return 2
    if isinstance(m, Prefix | EqualsIgnoreCase):
        return 1
    return 0


def is_hashed(leaf: Leaf) -> bool:
    """Exact values, prefixes, suffixes and equals-ignore-case only: a value is looked up, not
    tested, and it satisfies about one such leaf of a path."""
    return max(cost(m) for m in leaf.matchers) <= 2


FAN_OUT_LIMIT = 1.5
"""A path where one value satisfies more leaves than this (estimated) never has its conditions
hoisted: each of the states a value reaches repeats the lookups that follow."""

SHARED_MIN = 8
"""A condition is hoisted only if at least this many conjunctions share it: a state shared by a
few rules saves little, and the rules cannot tell at which paths events hold arrays (an array of
three tags reaches three hoisted tag states, which all do the lookups that follow)."""


class Order:
    """Sorts each conjunction's conditions (`key`) for the whole set of conjunctions given.

    A leaf listing `k` of the `n` distinct values (keys of hashed matchers) the rules name at its
    path is taken to pass `k/n` of events, its *share*: an event type named by thousands of rules
    passes many events, a skill id few. Then, in a conjunction:

    1. hashed conditions that `hoist` picks come first, the most shared first: a condition
       thousands of rules name becomes one state they all share, looked up once per event,
       instead of once more after each of their rarer conditions that passed;
    2. other hashed conditions follow, rarest first, which keeps the states an event reaches few
       (a state after a rare condition is rarely reached, whatever comes next);
    3. ranges, CIDR blocks and wildcards cannot be judged by share (a thousand distinct ranges may
       each hold half the events), so they follow the hashed conditions;
    4. negative conditions come last since they pass most events.
    """

    def __init__(self, conjunctions: Sequence[Sequence[Condition]]) -> None:
        keys: dict[Path, set[str]] = {}
        leaves: dict[Path, dict[str, Leaf]] = {}
        for conditions in conjunctions:
            for c in conditions:
                if is_hashed(c.leaf):  # the values events carry, not anything-but's exceptions
                    keys.setdefault(c.path, set()).update(m.key() for m in c.leaf.matchers)
                    leaves.setdefault(c.path, {})[c.leaf.key] = c.leaf
        self._distinct = {path: len(k) for path, k in keys.items()}
        fan_out = {path: _fan_out(list(ls.values()), self._distinct[path]) for path, ls in leaves.items()}
        self.hoisted = self._hoist(conjunctions, fan_out)

    def share(self, c: Condition) -> float:
        """The guessed fraction of events that satisfy hashed condition `c`."""
        return len(c.leaf.matchers) / self._distinct[c.path]

    def _hoist(self, conjunctions: Sequence[Sequence[Condition]], fan_out: dict[Path, float]) -> set[Name]:
        """The hashed conditions worth a state of their own before the rarer conditions of their rules.

        Hoisted, a condition `c` costs each event that passes it (`share(c)` of them) a visit to its
        state and a lookup on each of the `k` paths its rules go on with: `share(c) * (1 + k)`.
        Not hoisted, each rule checks `c` in the state after its rarest other condition `r`, which
        `share(r)` of events reach, for a visit and a lookup: `2 * sum(share(r))` over the rules.
        `c` is hoisted when that sum is the larger, when at least `SHARED_MIN` conjunctions name
        it, and when one value satisfies about one leaf at its path (`FAN_OUT_LIMIT`)."""
        count: dict[Name, int] = {}
        saved: dict[Name, float] = {}
        onward: dict[Name, set[Path]] = {}
        shares: dict[Name, float] = {}
        for conditions in conjunctions:
            hashed = sorted(((self.share(c), i, c) for i, c in enumerate(conditions) if is_hashed(c.leaf)))
            for share, i, c in hashed:
                name = (c.path, c.leaf.key)
                shares[name] = share
                count[name] = count.get(name, 0) + 1
                rest = [entry for entry in hashed[:2] if entry[1] != i]
                if rest:
                    rarest, _, other = rest[0]
                    saved[name] = saved.get(name, 0.0) + rarest
                    onward.setdefault(name, set()).add(other.path)
        return {
            name
            for name, n in count.items()
            if n >= SHARED_MIN
            and fan_out[name[0]] <= FAN_OUT_LIMIT
            and 2 * saved.get(name, 0.0) >= shares[name] * (1 + len(onward.get(name, ())))
        }

    def key(self, c: Condition, pid: int) -> tuple[int, float, int, int, str]:
        """Sort key of `c` (whose path has id `pid`) within its conjunction; ties go by path id
        and leaf key, so equal conjunctions always share their states."""
        worst = max(cost(m) for m in c.leaf.matchers)
        if worst > 2:
            return (worst // 3 + 2, 1.0, worst, pid, c.leaf.key)
        share = self.share(c)
        if (c.path, c.leaf.key) in self.hoisted:
            return (0, -share, worst, pid, c.leaf.key)
        return (1, share, worst, pid, c.leaf.key)


def _fan_out(leaves: list[Leaf], distinct: int) -> float:
    """How many of a path's `leaves` one value satisfies on average, over the rules' own values.

    Each matcher of each leaf counts once (distinct leaves listing one value all hold for it), and a
    prefix once more for every shorter prefix at the path it starts with (nested prefixes all hold
    for a value that has the longest). Other overlaps (an exact value a prefix also covers, say) add
    at most one state per value and are not counted."""
    nested = _nesting(
        {m.text for leaf in leaves for m in leaf.matchers if isinstance(m, Prefix) and not m.fold}
    )
    total = 0
    for leaf in leaves:
        for m in leaf.matchers:
            total += 1
            if isinstance(m, Prefix) and not m.fold:
                total += nested[m.text]
    return total / distinct


def _nesting(prefixes: set[str]) -> dict[str, int]:
    """For each prefix, how many shorter ones of the set it starts with: one more than the longest
    such one has, so a chain of a thousand nested prefixes costs a probe each, not a thousand."""
    lengths = sorted({len(p) for p in prefixes})
    nested: dict[str, int] = {}
    for text in sorted(prefixes, key=len):
        count, i = 0, bisect_left(lengths, len(text)) - 1
        while i >= 0:
            shorter = nested.get(text[: lengths[i]])
            if shorter is not None:
                count = shorter + 1
                break
            i -= 1
        nested[text] = count
    return nested
