"""The matching automaton shared by `CompiledPattern` and `RuleSet`.

Each rule is a disjunction of conjunctions (`$or` already multiplied out). A conjunction's conditions
are sorted (likely most selective first, see `_Order`) and threaded into a trie of states, so rules
that start with the same condition share a state, like event-ruler's machine. Matching:

1. the event is flattened once, reading only the paths some rule mentions (a trie of keys), into
   `path id -> scalar` (or `_Many` scalars when arrays give a path several);
2. from the root, every reached state looks up the values of each path it leads on through a
   `ValueIndex` and moves on; a state where a conjunction ends reports its rule ids.

The work therefore grows with the number of paths the event has and the number of partially
matching rule prefixes, not with the number of rules. Built once, never mutated: safe to share
read-only across threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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
from ccbridge.core.rules.value_index import ValueIndex

_MISSING = object()
KeyTrie = tuple[tuple[str, int, "KeyTrie"], ...]


@dataclass(frozen=True, slots=True)
class Condition:
    """One leaf at one path (a tuple of keys, so a key containing a dot stays one key)."""

    path: tuple[str, ...]
    leaf: Leaf


def _cost(m: Matcher) -> int:
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


class _Order:
    """Sorts a conjunction's conditions so the likely most selective one is looked up first.

    Data is unknown when rules are built, so selectivity is guessed from the rules themselves: a
    leaf listing `k` of the `n` distinct values the rules name at its path is taken to pass `k/n`
    of events (an event type named by thousands of rules passes many; a skill id, few). Testing
    rare conditions first keeps the states reached per event few, however many rules share a
    common condition. Ranges, CIDR blocks and wildcards cannot be judged that way (a thousand
    distinct ranges may each hold half the events), so they follow the hashed operators, and
    negative conditions come last since they pass most events.
    """

    def __init__(self, conjunctions: list[Sequence[Condition]]) -> None:
        seen: dict[tuple[str, ...], set[str]] = {}
        for conditions in conjunctions:
            for c in conditions:
                seen.setdefault(c.path, set()).update(m.key() for m in c.leaf.matchers)
        self.distinct = {path: len(keys) for path, keys in seen.items()}

    def key(self, c: Condition, pid: int) -> tuple[int, float, int, int, str]:
        cost = max(_cost(m) for m in c.leaf.matchers)
        share = len(c.leaf.matchers) / self.distinct[c.path] if cost <= 2 else 1.0
        return (cost // 3, share, cost, pid, c.leaf.key)


_Table = dict[Any, tuple["_State", ...]]
_Edge = tuple[int, ValueIndex, _Table | None, tuple[int, ...], _Table]
"""(path id, index, exact table if the index is `fast`, prefix lengths, prefix table)"""


_NO_CHILDREN: dict[Any, Any] = {}


class _State:
    __slots__ = ("children", "edges", "rules")

    def __init__(self) -> None:
        self.children: dict[tuple[int, str], tuple[Leaf, _State]] = {}
        self.rules: set[str] | tuple[str, ...] = set()
        self.edges: tuple[_Edge, ...] = ()


class Machine:
    """`rules` pairs a rule id with its conjunctions; an empty conjunction matches every event."""

    def __init__(self, rules: Iterable[tuple[str, Iterable[Sequence[Condition]]]]) -> None:
        flat = [(rule_id, conditions) for rule_id, alternatives in rules for conditions in alternatives]
        self._order = _Order([conditions for _, conditions in flat])
        self._path_ids: dict[tuple[str, ...], int] = {}
        self._root = _State()
        for rule_id, conditions in flat:
            self._insert(rule_id, conditions)
        self._finish()
        self._keys = self._key_trie()
        del self._order

    @property
    def path_count(self) -> int:
        return len(self._path_ids)

    def _insert(self, rule_id: str, conditions: Sequence[Condition]) -> None:
        keyed = [
            (self._order.key(c, self._path_ids.setdefault(c.path, len(self._path_ids))), c)
            for c in conditions
        ]
        steps = sorted(keyed, key=lambda step: step[0])
        state = self._root
        for (*_, pid, key), c in steps:
            child = state.children.get((pid, key))
            if child is None:
                child = state.children[(pid, key)] = (c.leaf, _State())
            state = child[1]
        assert isinstance(state.rules, set)
        state.rules.add(rule_id)

    def _finish(self) -> None:
        pending = [self._root]
        while pending:
            state = pending.pop()
            by_path: dict[int, list[tuple[Leaf, _State]]] = {}
            for (pid, _), (leaf, child) in state.children.items():
                by_path.setdefault(pid, []).append((leaf, child))
                pending.append(child)
            indexes = ((pid, ValueIndex(pairs)) for pid, pairs in sorted(by_path.items()))
            state.edges = tuple(
                (pid, index, index.exact if index.fast else None, index.prefix_lengths, index.prefix_table)
                for pid, index in indexes
            )
            state.children = _NO_CHILDREN  # free build-time maps; fewer objects to pull into cache
            state.rules = tuple(sorted(state.rules))

    def _key_trie(self) -> KeyTrie:
        tree: dict[str, Any] = {}
        for path, pid in self._path_ids.items():
            node = tree
            for i, key in enumerate(path):
                entry = node.setdefault(key, [-1, {}])
                if i == len(path) - 1:
                    entry[0] = pid
                node = entry[1]

        def freeze(node: dict[str, Any]) -> KeyTrie:
            return tuple((key, pid, freeze(sub)) for key, (pid, sub) in node.items())

        return freeze(tree)

    def match_into(self, event: dict[str, Any], result: set[str]) -> None:
        """Add to `result` the ids of all rules `event` satisfies."""
        values: dict[int, Any] = {}
        _flatten(self._keys, event, values)
        get = values.get
        stack = [self._root]
        pop, push_all = stack.pop, stack.extend
        while stack:
            state = pop()
            if state.rules:
                result.update(state.rules)
            for pid, index, exact, lengths, prefixes in state.edges:
                found = get(pid, _MISSING)
                if found is _MISSING:
                    if index.absent:
                        push_all(index.absent)
                elif type(found) is _Many:
                    index.collect(found, stack)
                elif exact is None:
                    index.collect([found], stack)
                else:  # the hot path, inlined: one value, exact strings and prefixes only
                    hit = exact.get(found)
                    if hit:
                        push_all(hit)
                    if lengths and type(found) is str:
                        size = len(found)
                        for length in lengths:
                            if length > size:
                                break
                            hit = prefixes.get(found[:length])
                            if hit:
                                push_all(hit)

    def matches_any(self, event: dict[str, Any]) -> bool:
        result: set[str] = set()
        self.match_into(event, result)
        return bool(result)


class _Many(list[Any]):
    """Several values at one path; a bare scalar in the flattened event stands for exactly one,
    which saves a list per field on the hot path."""

    __slots__ = ()


def _add(out: dict[int, Any], pid: int, value: Any) -> None:
    previous = out.get(pid, _MISSING)
    if previous is _MISSING:
        out[pid] = value
    elif type(previous) is _Many:
        previous.append(value)
    else:
        out[pid] = _Many((previous, value))


def _flatten(keys: KeyTrie, obj: dict[str, Any], out: dict[int, Any]) -> None:
    """Collect the scalars at every wanted path; arrays are transparent, objects are not values."""
    for key, pid, sub in keys:
        value = obj.get(key, _MISSING)
        if value is _MISSING:
            continue
        kind = type(value)
        if kind is dict:
            if sub:
                _flatten(sub, value, out)
        elif kind is list:
            _crush(value, pid, sub, out)
        elif pid >= 0:
            if pid in out:
                _add(out, pid, value)
            else:
                out[pid] = value


def _crush(items: list[Any], pid: int, sub: KeyTrie, out: dict[int, Any]) -> None:
    """Arrays at any depth, iteratively: an attacker's deeply nested array costs no recursion."""
    pending = [items]
    while pending:
        for value in pending.pop():
            kind = type(value)
            if kind is dict:
                if sub:
                    _flatten(sub, value, out)
            elif kind is list:
                pending.append(value)
            elif pid >= 0:
                _add(out, pid, value)
