"""The matching automaton shared by `CompiledPattern` and `RuleSet`.

Each rule is a disjunction of conjunctions (`$or` already multiplied out). A conjunction's conditions
are sorted (`order.py`) and threaded into a trie of states, so rules that start with the same
conditions share states, like event-ruler's machine. Matching:

1. the event is read once, at exactly the paths some rule mentions (`extract.py`), into a list
   indexed by path id;
2. from the root, every reached state looks up the value of each path it leads on, which ends
   some rules and reaches further states.

The work therefore grows with the number of paths the event has and the number of partially
matching rule prefixes, not with the number of rules: each lookup is a hash lookup (or a few, for
prefixes) whatever the size of its table. Built once and never changed (but for the extractor,
generated after a few events: a cache): safe to share read-only across threads.

Most transitions are exact strings and prefixes, and with thousands of rules most of the states and
rule ids an event reaches are out of the CPU cache, so the representation read by the hot loop
keeps the objects between a table and a rule id few (`Step`, `Link`): rules that end on a
transition are reported from it, without visiting their state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ccbridge.core.rules.extract import MISSING, Extractor, Many, extractor, flatten, key_trie
from ccbridge.core.rules.matchers import Leaf
from ccbridge.core.rules.order import Condition, Order
from ccbridge.core.rules.value_index import ValueIndex


class _State:
    """A trie node while the machine is built; `_compile` turns the trie into `_Node`s."""

    __slots__ = ("children", "rules")

    def __init__(self) -> None:
        self.children: dict[tuple[int, str], tuple[Leaf, _State]] = {}
        self.rules: set[str] = set()


class _Node:
    """A state as matching reads it: its outgoing edges, grouped by how they are looked up.

    - `plain`: `(path id, table)`, where `table` maps a string value (or `MISSING`, for
      `exists: false`) to a `Step`;
    - `prefixed`: `(path id, first, links)`: prefixes, probed as `_links` describes, starting
      with the first `first` characters of a string value;
    - `other`: `(path id, index)` for edges needing any other operator, or exact values that are
      not strings (`True == 1` in Python, so those need the index's typed tables).
    An edge whose `ValueIndex` is `fast` has its exact values (if any) in `plain` and its prefixes
    (if any) in `prefixed`. No string equals a number, a boolean or null, so a `plain` or
    `prefixed` lookup is right for any scalar. `index` targets are each child's `Hit`.
    """

    __slots__ = ("other", "plain", "prefixed")

    def __init__(self) -> None:
        self.plain: tuple[tuple[int, dict[Any, Step]], ...] = ()
        self.prefixed: tuple[tuple[int, int, dict[str, Link]], ...] = ()
        self.other: tuple[tuple[int, ValueIndex], ...] = ()


Hit = tuple[tuple[str, ...], tuple[_Node, ...]]
"""A transition: the ids of the rules that end there, and the states (with edges) that go on."""

Step = str | _Node | Hit
"""A `Hit` as `plain` tables hold it: a transition that only ends one rule is that rule's id, one
that only goes on to one state is that `_Node`. Most transitions are one or the other, and each
object not read on the way from a table to a rule id is a cache miss saved."""

Link = str | int | _Node | tuple[tuple[str, ...], tuple[_Node, ...], int]
"""An entry of a prefix table (`_links`): `(rule ids, nodes, next length to probe)`; or, compactly,
just the next length (a cut of longer prefixes, which ends or reaches nothing), or a bare rule id or
`_Node` (a `Step` that no longer prefix extends)."""

_GENERATE_AFTER = 64
"""Events a machine matches by walking its key trie before it generates its extractor."""

_END = 1 << 62
"""The next length of a prefix that no longer prefix extends: longer than any string."""


class Machine:
    """`rules` pairs a rule id with its conjunctions; an empty conjunction matches every event."""

    def __init__(self, rules: Iterable[tuple[str, Iterable[Sequence[Condition]]]]) -> None:
        flat = [(rule_id, conditions) for rule_id, alternatives in rules for conditions in alternatives]
        order = Order([conditions for _, conditions in flat])
        self._path_ids: dict[tuple[str, ...], int] = {}
        root = _State()
        for rule_id, conditions in flat:
            self._insert(root, order, rule_id, conditions)
        self._always = tuple(sorted(root.rules))
        self._root = _compile(root)
        self._width = len(self._path_ids)
        self._keys = key_trie(self._path_ids.items())
        self._extract: Extractor = self._warm_up
        self._uses = 0

    @property
    def path_count(self) -> int:
        return len(self._path_ids)

    def _warm_up(self, event: dict[str, Any], out: list[Any]) -> bool:
        """The extractor for the first events: walk the key trie, then switch to a generated one.

        Generating costs a compile (~0.2 ms), worth it after some hundreds of events, while many
        machines match only a few (a pattern tried once). Switching is a cache being filled: the
        answers are the same, and a race only generates twice."""
        self._uses += 1
        if self._uses >= _GENERATE_AFTER:
            self._extract = extractor(self._keys)
        return flatten(self._keys, event, out)

    def _insert(self, root: _State, order: Order, rule_id: str, conditions: Sequence[Condition]) -> None:
        ids = self._path_ids
        keyed = [(order.key(c, ids.setdefault(c.path, len(ids))), c) for c in conditions]
        state = root
        for (*_, pid, key), c in sorted(keyed, key=lambda step: step[0]):
            child = state.children.get((pid, key))
            if child is None:
                child = state.children[(pid, key)] = (c.leaf, _State())
            state = child[1]
        state.rules.add(rule_id)

    def match_into(self, event: dict[str, Any], result: set[str]) -> None:
        """Add to `result` the ids of all rules `event` satisfies."""
        values: list[Any] = [MISSING] * self._width
        if self._always:
            result.update(self._always)
        if self._extract(event, values):
            _walk_arrays(self._root, values, result)
            return
        # The hot loop. The `Step`/`Link` dispatch is written out rather than called, as a call per
        # transition would cost more than the lookup. (`step` and `link` are `Any` to the type
        # checker, which does not narrow through `kind`.)
        step: Any
        link: Any
        stack = [self._root]
        while stack:
            node = stack.pop()
            for pid, table in node.plain:
                step = table.get(values[pid])
                if step is not None:
                    kind = type(step)
                    if kind is str:
                        result.add(step)
                    elif kind is _Node:
                        stack.append(step)
                    else:
                        result.update(step[0])
                        stack.extend(step[1])
            for pid, first, links in node.prefixed:
                value = values[pid]
                if type(value) is str:
                    length, size = first, len(value)
                    while length <= size:
                        link = links.get(value[:length])
                        if link is None:
                            break  # no prefix starts like this: none of this length or longer
                        kind = type(link)
                        if kind is int:
                            length = link
                        elif kind is str:
                            result.add(link)
                            break
                        elif kind is _Node:
                            stack.append(link)
                            break
                        else:
                            result.update(link[0])
                            stack.extend(link[1])
                            length = link[2]
            for pid, index in node.other:
                value = values[pid]
                hits: list[Hit] = []
                if value is MISSING:
                    hits.extend(index.absent)
                else:
                    index.collect((value,), hits)
                for ends, targets in hits:
                    result.update(ends)
                    stack.extend(targets)

    def matches_any(self, event: dict[str, Any]) -> bool:
        result: set[str] = set()
        self.match_into(event, result)
        return bool(result)


def _walk_arrays(root: _Node, values: list[Any], result: set[str]) -> None:
    """`Machine.match_into` for an event where some wanted path holds several values (`Many`).

    The same tables, asked once per value. Two values of one path can lead to the same state (a leaf
    `["a", "b"]` and an event `["a", "b"]`), so a state reached again is not walked again: otherwise
    arrays at every level could multiply the work."""
    stack, seen = [root], {id(root)}
    steps: list[Any] = []  # `Step`s, `Hit`s and None (a miss), from one state's edges
    while stack:
        node = stack.pop()
        for pid, table in node.plain:
            value = values[pid]
            if type(value) is Many:
                steps.extend([table.get(one) for one in value])
            else:
                steps.append(table.get(value))
        for pid, first, links in node.prefixed:
            value = values[pid]
            for one in value if type(value) is Many else (value,):
                length = first
                while type(one) is str and length <= len(one):
                    link = links.get(one[:length])
                    if link is None:
                        break
                    if type(link) is int:
                        length = link
                    elif type(link) is tuple:
                        steps.append(link[:2])
                        length = link[2]
                    else:
                        steps.append(link)
                        break
        for pid, index in node.other:
            value = values[pid]
            if value is MISSING:
                steps.extend(index.absent)
            else:
                index.collect(value if type(value) is Many else (value,), steps)
        for step in steps:
            if step is None:
                continue
            kind = type(step)
            if kind is str:
                result.add(step)
                continue
            if kind is _Node:
                targets: tuple[_Node, ...] = (step,)
            else:
                result.update(step[0])
                targets = step[1]
            for target in targets:
                if id(target) not in seen:
                    seen.add(id(target))
                    stack.append(target)
        steps.clear()


def _compile(root: _State) -> _Node:
    """The `_Node`s of the trie, children first (iteratively: a conjunction may be long)."""
    preorder: list[_State] = []
    pending = [root]
    while pending:
        state = pending.pop()
        preorder.append(state)
        pending.extend(child for _, child in state.children.values())
    hits: dict[int, Hit] = {}
    for state in reversed(preorder[1:]):  # in a trie's preorder every child follows its parent
        hits[id(state)] = (tuple(sorted(state.rules)), (_node(state, hits),) if state.children else ())
    return _node(root, hits)


def _node(state: _State, hits: dict[int, Hit]) -> _Node:
    """The `_Node` of `state`, whose children's `Hit`s are in `hits`."""
    by_path: dict[int, list[tuple[Leaf, Hit]]] = {}
    for (pid, _), (leaf, child) in state.children.items():
        by_path.setdefault(pid, []).append((leaf, hits.pop(id(child))))
    plain: list[tuple[int, dict[Any, Step]]] = []
    prefixed: list[tuple[int, int, dict[str, Link]]] = []
    other: list[tuple[int, ValueIndex]] = []
    for pid, pairs in sorted(by_path.items()):
        index = ValueIndex(pairs)
        if not index.fast:
            other.append((pid, index))
            continue
        # The index itself is dropped: its tables are copied into compact ones.
        table = {value: _step(_merge(targets)) for value, targets in index.exact.items()}
        if index.absent:
            table[MISSING] = _step(_merge(index.absent))
        if table:
            plain.append((pid, table))
        if index.prefix_lengths:
            prefixed.append((pid, index.prefix_lengths[0], _links(index.prefix_table)))
    node = _Node()
    node.plain, node.prefixed, node.other = tuple(plain), tuple(prefixed), tuple(other)
    return node


def _merge(hits: Iterable[Hit]) -> Hit:
    """One `Hit` for several transitions taken on one value (each rule and state once)."""
    rules: dict[str, None] = {}
    nodes: dict[int, _Node] = {}
    for ends, targets in hits:
        rules.update(dict.fromkeys(ends))
        nodes.update((id(node), node) for node in targets)
    return tuple(rules), tuple(nodes.values())


def _step(hit: Hit) -> Step:
    ends, nodes = hit
    if len(ends) == 1 and not nodes and type(ends[0]) is str:  # (an id of another type stays in a tuple)
        return ends[0]
    if len(nodes) == 1 and not ends:
        return nodes[0]
    return hit


def _links(table: dict[Any, tuple[Hit, ...]]) -> dict[str, Link]:
    """Prefix -> `Link`, so that a value is probed only at lengths where a prefix may still match.

    Matching probes the value's first `n` characters, `n` the shortest prefix length; each entry
    found names the next length worth probing: that of the shortest prefix starting with what was
    just probed. So the probes follow the prefixes the value shares, one per branching point of
    their trie, rather than one per distinct length; and a miss proves that no prefix of that
    length or longer matches. No matching prefix `p` is skipped: each probe before `len(p)` is a
    start of `p`, so its entry names a length no greater than `len(p)`. The entries for mere cuts
    of longer prefixes add at most one per character of the prefixes."""
    lengths = sorted({len(p) for p in table})
    following: dict[str, int] = {}
    for prefix in table:
        for length in lengths:
            if length >= len(prefix):
                break
            cut = prefix[:length]
            following[cut] = min(following.get(cut, _END), len(prefix))
    links: dict[str, Link] = dict(following)
    for prefix, targets in table.items():
        hit = _merge(targets)
        after = following.get(prefix, _END)
        step = _step(hit)
        if after == _END and not isinstance(step, tuple):
            links[prefix] = step
        else:
            links[prefix] = (hit[0], hit[1], after)
    return links
