"""The automaton's states as matching reads them, compiled from the trie `machine.py` builds.

The trie is nondeterministic: one value can lead out of a state to several states (an event type
equal to one rule's value and starting with another's prefix; a channel two leaves both list), and
each of them then repeats the lookups of the paths they share. Compiling makes it deterministic
where that is cheap, as a DFA construction does:

- an exact value's entry also holds what the prefixes it starts with reach, so a value found in a
  path's exact table needs no prefix probe at all;
- the states one value reaches together become one state whose tables are the union of theirs
  (memoized by the set they merge), so each path is looked up once per event, not once per state.

Merging copies tables, and sets of states can multiply, so it stops at a budget of entries (as many
as the trie has edges, plus a constant); beyond it, a value reaches its states side by side, which is
slower but the same answer. With thousands of rules, most transitions are exact strings and
prefixes, and most of the objects an event reaches are out of the CPU cache, so the structures keep
the objects between a table and a rule id few (`Step`, `Link`).
"""

from __future__ import annotations

import sys
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from ccbridge.core.rules.extract import MISSING
from ccbridge.core.rules.matchers import Leaf
from ccbridge.core.rules.value_index import ValueIndex


class State:
    """A trie node while the machine is built: its edges by `(path id, leaf key)`, and the ids of the
    rules whose conditions all hold once it is reached."""

    __slots__ = ("children", "rules")

    def __init__(self) -> None:
        self.children: dict[tuple[int, str], tuple[Leaf, State]] = {}
        self.rules: set[str] = set()


class Node(tuple[Any, ...]):
    """A state as matching reads it: the tuple of its edges, one per path it leads on (a tuple, not an
    object holding one, as each object between a table and the next is a cache miss when cold).

    An edge is `(path id, exact, first, links)`:
    - for a path with only exact strings and prefixes, `exact` maps a string value (or `MISSING`,
      for `exists: false`) to a `Step` that includes what the value's prefixes reach; a value not
      in it has its prefixes probed in `links`, starting with its first `first` characters
      (0: no prefixes), as `_links` describes. (Where exact values nest under too many prefixes,
      the path has two edges instead, one with only its exact values and one with only its
      prefixes: see `_starts`.)
    - for a path needing any other operator, or exact values that are not strings (`True == 1` in
      Python, so those need the index's typed tables), `first` is -1, `exact` is empty and `links`
      is a `ValueIndex` whose targets are `Hit`s.
    No string equals a number, a boolean or null, so an `exact` lookup is right for any scalar.

    Compared and hashed by identity, like any state (as a tuple it would compare its tables).
    """

    __slots__ = ()
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__


Hit = tuple[tuple[str, ...], tuple[Node, ...]]
"""A transition as the `other` indexes hold it: the ids of the rules that end there, and the states
(with edges) that go on."""


class Fork:
    """A transition that ends rules and goes on to states, or goes on to several; `after` is the next
    prefix length to probe, for a `Link` (`END` in an exact table)."""

    __slots__ = ("after", "nodes", "rules")

    def __init__(self, rules: tuple[str, ...], nodes: tuple[Any, ...], after: int) -> None:
        self.rules, self.nodes, self.after = rules, nodes, after


Step = str | Node | tuple[str, ...] | Fork
"""A transition as exact tables hold it: one that only ends one rule is that rule's id, one that only
ends several is the tuple of their ids, one that only goes on to one state is that `Node`. Most
transitions are one of these, and each object not read on the way from a table to a rule id is a
cache miss saved."""

Link = int | Step
"""An entry of a prefix table (`_links`): a `Step` and the next length to probe, which is `END` for
all but a `Fork`; or just the next length (a cut of longer prefixes, which ends or reaches nothing)."""

END = 1 << 62
"""The next length of a prefix that no longer prefix extends: longer than any string."""

OTHER = -1
"""The `first` of an edge whose `links` is a `ValueIndex`."""

MERGE_SLACK = 4096
"""Entries merged states may copy beyond the trie's own edge count (small sets merge freely)."""

FOLD_LIMIT = 4
"""Prefixes an exact entry may fold in per exact value of a path, on average (see `_starts`)."""

_APART: dict[str, list[Any]] = {}
"""`_starts`'s answer when a path's exact values and prefixes are kept in separate edges."""

_NOTHING: dict[Any, Any] = {}
"""The table of an edge without exact values or prefixes (read only, never written)."""


def compile_trie(root: State) -> Node:
    """The `Node` of `root`; through it, every state an event can reach."""
    return _Compiler(root).run()


class _Draft:
    """A `Node` while it is compiled: its edges refer to drafts, which become `Node`s (immutable, so
    built children first) once every draft is known. `depth`, the least depth of the states it
    merges, grows along every edge, so deepest first is children first."""

    __slots__ = ("depth", "edges", "node")

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.edges: list[tuple[int, dict[Any, Any], int, Any]] = []
        self.node: Node | None = None


class _Compiler:
    """Drafts a node per set of states that some value reaches together (on a work list: a
    conjunction may be long, so no recursion), merging them while the budget lasts; then builds the
    `Node`s, deepest first."""

    def __init__(self, root: State) -> None:
        self._root = root
        self._drafts: dict[frozenset[int], _Draft] = {}
        self._todo: list[tuple[_Draft, tuple[State, ...]]] = []
        self._edges: dict[tuple[int, frozenset[int]], tuple[tuple[int, dict[Any, Any], int, Any], ...]] = {}
        self._steps: dict[frozenset[int], Any] = {}
        self._depth: dict[int, int] = {id(root): 0}
        edges, pending = 0, [root]
        while pending:
            state = pending.pop()
            edges += len(state.children)
            for _, child in state.children.values():
                self._depth[id(child)] = self._depth[id(state)] + 1
                pending.append(child)
        self._budget = edges + MERGE_SLACK

    def run(self) -> Node:
        root = self._draft((self._root,))
        while self._todo:
            draft, members = self._todo.pop()
            self._fill(draft, members)
        deepest_first = sorted(self._drafts.values(), key=lambda d: -d.depth)
        return _Builder(self._drafts).build(root, deepest_first)

    def _draft(self, members: tuple[State, ...]) -> _Draft:
        """The draft of a set of states that all have children (filled later)."""
        key = frozenset(map(id, members))
        draft = self._drafts.get(key)
        if draft is None:
            draft = self._drafts[key] = _Draft(min(self._depth[id(s)] for s in members))
            self._todo.append((draft, members))
        return draft

    def _step(self, targets: Iterable[State]) -> Any:
        """The transition to all of `targets` at once (a `Step` of drafts): one merged node if the
        budget allows. Memoized, so every table that reaches the same states holds the same
        object: fewer objects for the CPU cache to hold."""
        targets = tuple(targets)
        key = frozenset(map(id, targets))
        step = self._steps.get(key)
        if step is None:
            step = self._steps[key] = self._new_step(targets)
        return step

    def _new_step(self, targets: tuple[State, ...]) -> Any:
        rules: dict[str, None] = {}
        going: dict[int, State] = {}
        for state in targets:
            rules.update(dict.fromkeys(sorted(state.rules)))
            if state.children:
                going[id(state)] = state
        members = tuple(going.values())
        drafts: tuple[_Draft, ...] = ()
        if len(members) == 1 or (members and frozenset(going) in self._drafts):
            drafts = (self._draft(members),)
        elif members:
            size = sum(len(s.children) for s in members)
            if size <= self._budget:
                self._budget -= size
                drafts = (self._draft(members),)
            else:
                drafts = tuple(self._draft((s,)) for s in members)
        ends = tuple(rules)
        if not drafts:
            return ends[0] if len(ends) == 1 and type(ends[0]) is str else ends  # (other ids stay in a tuple)
        if len(drafts) == 1 and not ends:
            return drafts[0]
        return Fork(ends, drafts, END)

    def _fill(self, draft: _Draft, members: tuple[State, ...]) -> None:
        by_path: dict[int, list[tuple[Leaf, State, int]]] = {}
        for member in members:
            for (pid, _), (leaf, child) in member.children.items():
                by_path.setdefault(pid, []).append((leaf, child, id(member)))
        for pid, triples in sorted(by_path.items()):
            # A path only one member leads on is the same edge as in that member's own node: shared.
            key = (pid, frozenset(owner for _, _, owner in triples))
            edges = self._edges.get(key)
            if edges is None:
                edges = self._edges[key] = self._edge(pid, [(leaf, child) for leaf, child, _ in triples])
            draft.edges.extend(edges)

    def _edge(
        self, pid: int, pairs: list[tuple[Leaf, State]]
    ) -> tuple[tuple[int, dict[Any, Any], int, Any], ...]:
        """The edges of one path: usually one; two where exact values keep apart from prefixes."""
        index = ValueIndex(pairs)
        if not index.fast:  # built with the nodes, whose `Hit`s its targets are
            for _, child in pairs:
                if child.children:
                    self._draft((child,))
            return ((pid, _NOTHING, OTHER, pairs),)
        prefixes: dict[str, tuple[State, ...]] = index.prefix_table
        lengths = index.prefix_lengths
        links = self._links(prefixes) if lengths else _NOTHING
        first = lengths[0] if lengths else 0
        starts = self._starts(index.exact, prefixes, lengths)
        exact: dict[Any, Any] = {}
        for value, targets in index.exact.items():
            exact[plain(value)] = self._step([*targets, *starts.get(value, ())])
        if index.absent:
            exact[MISSING] = self._step(index.absent)
        if starts is _APART:  # a hit does not prove the prefixes looked at: probe them always
            return (pid, exact, 0, _NOTHING), (pid, _NOTHING, first, links)
        return ((pid, exact, first, links),)

    def _starts(
        self, exact: dict[Any, Any], prefixes: dict[str, tuple[State, ...]], lengths: tuple[int, ...]
    ) -> dict[str, list[State]]:
        """The targets of the prefixes each exact value starts with, for its entry to hold; or
        `_APART` where that would cost more than `FOLD_LIMIT` per exact value (values nested under
        hundreds of prefixes would make building quadratic; matching them probes as many anyway)."""
        starts: dict[str, list[State]] = {}
        budget = FOLD_LIMIT * (len(exact) + 1)
        for value in exact:
            found = [t for n in lengths if n <= len(value) for t in prefixes.get(value[:n], ())]
            if found:
                budget -= len(found)
                if budget < 0:
                    return _APART
                starts[value] = found
        return starts

    def _links(self, table: dict[str, tuple[State, ...]]) -> dict[str, Any]:
        """Prefix -> `Link`, so that a value is probed only at lengths where a prefix may still match.

        Matching probes the value's first `n` characters, `n` the shortest prefix length; each entry
        found names the next length worth probing: that of the shortest prefix starting with what
        was just probed. So the probes follow the prefixes the value shares, one per branching
        point of their trie, rather than one per distinct length; and a miss proves that no prefix
        of that length or longer matches. No matching prefix `p` is skipped: each probe before
        `len(p)` is a start of `p`, so its entry names a length no greater than `len(p)`. The
        entries for mere cuts of longer prefixes add at most one per character of the prefixes."""
        lengths = sorted({len(p) for p in table})
        following: dict[str, int] = {}
        for prefix in sorted(table, key=len):  # shortest first: a cut's first prefix is its nearest
            i = bisect_left(lengths, len(prefix)) - 1
            while i >= 0:
                cut = prefix[: lengths[i]]
                if cut in following:
                    break  # a shorter prefix made this cut, and so every shorter cut of it
                following[cut] = len(prefix)
                i -= 1
        links: dict[str, Any] = {plain(cut): after for cut, after in following.items()}
        for prefix, targets in table.items():
            step = self._step(targets)
            after = following.get(prefix, END)
            if after == END:
                links[plain(prefix)] = step
            else:
                rules, nodes = _expand(step)
                links[plain(prefix)] = Fork(rules, nodes, after)
        return links


class _Builder:
    """Turns drafts into `Node`s, children first, copying each table once (shared tables stay
    shared; the copies are also laid out in memory in the order they are built)."""

    def __init__(self, drafts: dict[frozenset[int], _Draft]) -> None:
        self._drafts = drafts
        self._copies: dict[int, Any] = {}
        self._hits: dict[int, Hit] = {}

    def build(self, root: _Draft, deepest_first: list[_Draft]) -> Node:
        for draft in deepest_first:
            draft.node = Node(self._edge(edge) for edge in draft.edges)
        assert root.node is not None
        return root.node

    def _edge(self, edge: tuple[int, dict[Any, Any], int, Any]) -> tuple[int, dict[Any, Any], int, Any]:
        copy = self._copies.get(id(edge))
        if copy is None:
            pid, exact, first, links = edge
            if first == OTHER:
                index = ValueIndex([(leaf, self._hit(child)) for leaf, child in links])
                copy = (pid, _NOTHING, OTHER, index)
            else:
                copy = (pid, self._table(exact), first, self._table(links))
            self._copies[id(edge)] = copy
        return copy

    def _table(self, table: dict[Any, Any]) -> dict[Any, Any]:
        if not table:
            return _NOTHING
        copy = self._copies.get(id(table))
        if copy is None:
            copy = self._copies[id(table)] = {key: self._final(step) for key, step in table.items()}
        return copy

    def _final(self, step: Any) -> Any:
        kind = type(step)
        if kind is _Draft:
            return step.node
        if kind is Fork:
            copy = self._copies.get(id(step))
            if copy is None:
                nodes = tuple(draft.node for draft in step.nodes)
                copy = self._copies[id(step)] = Fork(step.rules, nodes, step.after)
            return copy
        return step  # a rule id, a tuple of them, or a next length

    def _hit(self, state: State) -> Hit:
        """The transition to `state` alone, as the `other` indexes hold it (its draft was made when
        the edge was, and is deeper, so already built)."""
        hit = self._hits.get(id(state))
        if hit is None:
            node = self._drafts[frozenset((id(state),))].node if state.children else None
            hit = self._hits[id(state)] = (tuple(sorted(state.rules)), () if node is None else (node,))
        return hit


def plain(text: str) -> str:
    """`text` as one shared, exact `str`: equal keys of all tables are one object (fewer for the CPU
    cache to hold), and a `str` subclass from a caller's pattern (a `StrEnum` member, which
    `sys.intern` refuses) becomes the plain string it equals."""
    return sys.intern(str.__str__(text))


def _expand(step: Any) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The rule ids a `Step` of drafts ends and the drafts it goes on to."""
    if isinstance(step, str):
        return (step,), ()
    if isinstance(step, _Draft):
        return (), (step,)
    if isinstance(step, Fork):
        return step.rules, step.nodes
    return step, ()
