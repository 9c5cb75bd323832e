"""The automaton laid out for the C walk (`_walk.c`), where that extension is built.

With thousands of rules, the Python walk's time goes to cache misses: a lookup in a CPython dict
reads four lines (index slot, entry, key string, value), and the objects between one table and the
next are more. `_walk.Program` keeps each table as one array of slots with the key's characters
inline, and the states as arrays of one-line edges, so a lookup reads one line. On
`bench/bench_rules.py` (10,000 exact and prefix rules) it matches 1.7-2x the events per second of
the Python walk, and the 10-rule / 10,000-rule throughput ratio falls from 1.9x to 1.3x with events
in cache, and from 2.5-3.2x to 1.7-2.5x with events out of cache (the spread is the shared host).

The extension is optional: `pip` builds it where a C compiler is found, and matching falls back to
the Python walk (same tables, same answers) where it is not, or where an automaton does not fit the
layout (a key over 65,535 characters, more than 2^29 states). `CCBRIDGE_RULES_PYTHON=1` in the
environment selects the Python walk, for comparison or if the C one were ever in doubt. The tests
hold both walks to the reference evaluator.

Layout, as `_walk.c` reads it: rule ids by index (`names`); groups of rule indices; forks (group,
node indices, next prefix length); tables as `(key, code)` lists; per state, its edges as
`(path id, first, exact table, links table, code of MISSING, index.one, index.absent,
index.collect)`, the last three for `other` edges only. A code
is an index shifted left by `TAG_BITS` with the tag of what it indexes in the low bits.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ccbridge.core.rules.automaton import OTHER, Fork, Node
from ccbridge.core.rules.extract import MISSING, Many

try:
    from ccbridge.core.rules import _walk
except ImportError:  # not built here (no C compiler when installed): the Python walk serves
    _walk = None  # type: ignore[assignment]  # (checked below: `BUILT`)

BUILT = _walk is not None
"""Whether the C walk is available in this installation."""


def enabled() -> bool:
    """Whether new machines use the C walk: built, and not turned off in the environment."""
    return BUILT and os.environ.get("CCBRIDGE_RULES_PYTHON", "") in ("", "0")


class _Unfit(Exception):
    """The automaton does not fit the C layout; the Python walk serves it."""


def program(root: Node, nodes: Iterable[Node], width: int) -> Any:
    """The `_walk.Program` of an automaton (`nodes`: all of its states), or None where the C walk is
    not built or the automaton does not fit it."""
    if _walk is None:
        return None
    try:
        return _Layout(nodes).program(root, width)
    except _Unfit:
        return None


class _Layout:
    """Numbers the automaton's objects and encodes its steps as codes (one pass, memoized by
    identity, so what the automaton shares the program shares)."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        self.node_index: dict[Node, int] = {}
        for node in nodes:
            self.node_index.setdefault(node, len(self.node_index))
        self.names: list[Any] = []
        self._name_index: dict[Any, int] = {}
        self.groups: list[tuple[int, ...]] = []
        self._group_index: dict[int, int] = {}
        self.forks: list[tuple[int, tuple[int, ...], int]] = []
        self._fork_index: dict[int, int] = {}
        self.tables: list[list[tuple[str, int]]] = []
        self.links_flags: list[bool] = []
        self._table_index: dict[int, int] = {}

    def program(self, root: Node, width: int) -> Any:
        assert _walk is not None
        if len(self.node_index) > _walk.MAX_ARG or root not in self.node_index:
            raise _Unfit
        nodes = [[self._edge(edge) for edge in node] for node in self.node_index]
        return _walk.Program(
            names=tuple(self.names),
            groups=self.groups,
            forks=self.forks,
            tables=self.tables,
            links_flags=self.links_flags,
            nodes=nodes,
            root=self.node_index[root],
            width=width,
            missing=MISSING,
            many=Many,
            node_index=self.node_index,
        )

    def _edge(self, edge: tuple[int, dict[Any, Any], int, Any]) -> tuple[Any, ...]:
        pid, exact, first, links = edge
        if first == OTHER:
            return (pid, OTHER, -1, -1, 0, links.one, links.absent, links.collect)
        missing = exact.get(MISSING)
        return (
            pid,
            first,
            self._table(exact, links=False),
            self._table(links, links=True) if first else -1,
            0 if missing is None else self._code(missing),
            None,
            None,
            None,
        )

    def _table(self, table: dict[Any, Any], links: bool) -> int:
        assert _walk is not None
        index = self._table_index.get(id(table))
        if index is None:
            entries = []
            for key, step in table.items():
                if key is MISSING:
                    continue
                if type(key) is not str or len(key) > _walk.MAX_KEY_CHARS:
                    raise _Unfit
                entries.append((key, self._code(step, links)))
            index = -1 if not entries else len(self.tables)
            if entries:
                self.tables.append(entries)
                self.links_flags.append(links)
            self._table_index[id(table)] = index
        return index

    def _code(self, step: Any, links: bool = False) -> int:
        assert _walk is not None
        kind = type(step)
        if kind is Node:
            number, tag = self.node_index[step], _walk.NODE
        elif kind is str:
            number, tag = self._name(step), _walk.RULE
        elif kind is tuple:
            number, tag = self._group(step), _walk.GROUP
        elif kind is Fork:
            number, tag = self._fork(step), _walk.FORK
        elif kind is int and links:
            number, tag = step, _walk.LENGTH
        else:
            raise _Unfit
        if not 0 <= number <= _walk.MAX_ARG:
            raise _Unfit
        return int(number) << _walk.TAG_BITS | tag

    def _name(self, rule_id: Any) -> int:
        index = self._name_index.get(rule_id)
        if index is None:
            index = self._name_index[rule_id] = len(self.names)
            self.names.append(rule_id)
        return index

    def _group(self, rule_ids: tuple[Any, ...]) -> int:
        index = self._group_index.get(id(rule_ids))
        if index is None:
            index = self._group_index[id(rule_ids)] = len(self.groups)
            self.groups.append(tuple(self._name(rule_id) for rule_id in rule_ids))
        return index

    def _fork(self, fork: Fork) -> int:
        index = self._fork_index.get(id(fork))
        if index is None:
            index = self._fork_index[id(fork)] = len(self.forks)
            nodes = tuple(self.node_index[node] for node in fork.nodes)
            self.forks.append((self._group(fork.rules), nodes, fork.after))
        return index
