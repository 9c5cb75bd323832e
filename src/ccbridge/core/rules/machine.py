"""The matching automaton shared by `CompiledPattern` and `RuleSet`.

Each rule is a disjunction of conjunctions (`$or` already multiplied out). A conjunction's conditions
are sorted (`order.py`) and threaded into a trie of states, so rules that start with the same
conditions share states, like event-ruler's machine; `automaton.py` compiles the trie, merging the
states one value reaches together. Matching:

1. the event is read once, at exactly the paths some rule mentions (`extract.py`), into a list
   indexed by path id;
2. from the root, every reached state looks up the value of each path it leads on, which ends
   some rules and reaches further states.

The work therefore grows with the number of paths the event has and the number of partially
matching rule prefixes, not with the number of rules: each lookup is a hash lookup (or a few, for
prefixes) whatever the size of its table. Built once and never changed: safe to share read-only
across threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ccbridge.core.rules.automaton import OTHER, Fork, Hit, Node, State, Step, compile_trie
from ccbridge.core.rules.extract import MISSING, Many, flatten, key_trie
from ccbridge.core.rules.order import Condition, Order


class Machine:
    """`rules` pairs a rule id with its conjunctions; an empty conjunction matches every event."""

    def __init__(self, rules: Iterable[tuple[str, Iterable[Sequence[Condition]]]]) -> None:
        flat = [(rule_id, conditions) for rule_id, alternatives in rules for conditions in alternatives]
        order = Order([conditions for _, conditions in flat])
        self._path_ids: dict[tuple[str, ...], int] = {}
        root = State()
        for rule_id, conditions in flat:
            self._insert(root, order, rule_id, conditions)
        self._always = tuple(sorted(root.rules))
        self._root = compile_trie(root)
        self._width = len(self._path_ids)
        self._keys = key_trie(self._path_ids.items())

    @property
    def path_count(self) -> int:
        return len(self._path_ids)

    def _insert(self, root: State, order: Order, rule_id: str, conditions: Sequence[Condition]) -> None:
        ids = self._path_ids
        keyed = [(order.key(c, ids.setdefault(c.path, len(ids))), c) for c in conditions]
        state = root
        for (*_, pid, key), c in sorted(keyed, key=lambda step: step[0]):
            child = state.children.get((pid, key))
            if child is None:
                child = state.children[(pid, key)] = (c.leaf, State())
            state = child[1]
        state.rules.add(rule_id)

    def match_into(self, event: dict[str, Any], result: set[str]) -> None:
        """Add to `result` the ids of all rules `event` satisfies."""
        values: list[Any] = [MISSING] * self._width
        if self._always:
            result.update(self._always)
        if flatten(self._keys, event, values):  # some path holds several values (`Many`)
            _walk_arrays(self._root, values, result)
            return
        # The hot loop. The `Step`/`Link` dispatch is written out rather than called, as a call per
        # transition would cost more than the lookup. (`step` and `link` are `Any` to the type
        # checker, which does not narrow through `kind`.)
        step: Any
        link: Any
        stack = [self._root]
        while stack:
            for pid, exact, first, links in stack.pop():
                value = values[pid]
                step = exact.get(value)
                if step is not None:  # found: the entry holds what the value's prefixes reach too
                    kind = type(step)
                    if kind is str:
                        result.add(step)
                    elif kind is Node:
                        stack.append(step)
                    elif kind is tuple:
                        result.update(step)
                    else:
                        result.update(step.rules)
                        stack.extend(step.nodes)
                elif first > 0:
                    if type(value) is not str:
                        continue
                    # No length test before the first probe: every key is at least `first` long,
                    # so a shorter value (which is its own slice) finds nothing. A miss (None)
                    # proves no prefix of this length or longer starts like the value.
                    link = links.get(value[:first])
                    while link is not None:
                        kind = type(link)
                        if kind is int:
                            if link > len(value):
                                break
                            link = links.get(value[:link])
                        elif kind is str:
                            result.add(link)
                            break
                        elif kind is Node:
                            stack.append(link)
                            break
                        elif kind is tuple:
                            result.update(link)
                            break
                        else:
                            result.update(link.rules)
                            stack.extend(link.nodes)
                            if link.after > len(value):
                                break
                            link = links.get(value[: link.after])
                elif first:  # OTHER: `links` is a `ValueIndex`
                    hits: list[Hit] = []
                    if value is MISSING:
                        hits.extend(links.absent)
                    else:
                        links.one(value, hits)
                    for ends, targets in hits:
                        result.update(ends)
                        stack.extend(targets)

    def matches_any(self, event: dict[str, Any]) -> bool:
        result: set[str] = set()
        self.match_into(event, result)
        return bool(result)


def _walk_arrays(root: Node, values: list[Any], result: set[str]) -> None:
    """`Machine.match_into` for an event where some wanted path holds several values (`Many`).

    The same tables, asked once per value. Two values of one path can lead to the same state (a leaf
    `["a", "b"]` and an event `["a", "b"]`), so a state reached again is not walked again: otherwise
    arrays at every level could multiply the work."""
    stack, seen = [root], {id(root)}
    going: list[Node] = []  # the states one state's edges reach
    hits: list[Hit] = []
    while stack:
        for pid, exact, first, links in stack.pop():
            value = values[pid]
            if first == OTHER:
                if value is MISSING:
                    hits.extend(links.absent)
                else:
                    index_values = value if type(value) is Many else (value,)
                    links.collect(index_values, hits)
                continue
            for one in value if type(value) is Many else (value,):
                step = exact.get(one)
                if step is not None:
                    _take(step, result, going)
                    continue
                length = first
                while first and type(one) is str and length <= len(one):
                    link = links.get(one[:length])
                    if link is None:
                        break
                    if isinstance(link, int):
                        length = link
                        continue
                    _take(link, result, going)
                    if type(link) is not Fork:
                        break
                    length = link.after
        for ends, nodes in hits:
            result.update(ends)
            going.extend(nodes)
        hits.clear()
        for target in going:
            if id(target) not in seen:
                seen.add(id(target))
                stack.append(target)
        going.clear()


def _take(step: Step, result: set[str], going: list[Node]) -> None:
    """Record what a `Step` (or a `Link` other than a length) ends and reaches."""
    if type(step) is str:
        result.add(step)
    elif type(step) is Node:
        going.append(step)
    elif type(step) is tuple:
        result.update(step)
    elif type(step) is Fork:
        result.update(step.rules)
        going.extend(step.nodes)
