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

Paths with other operators (an `other` edge, whose `ValueIndex` the Python walk calls) are laid out
as `typed` edges where the C walk has their operators: exact numbers and numeric ranges (the number
line cut at every bound, found by binary search), booleans and null, IPv4 CIDR blocks, suffixes,
`head*tail` wildcards, equals-ignore-case (ASCII strings lowered in C), `exists`, and anything-but
of strings, numbers, prefixes, suffixes and equals-ignore-case. Each call into Python cost 1-2.5
microseconds; on `bench/bench_rules.py`'s mixed operators the 10-rule / 10,000-rule ratio fell from
3.2-3.4x to 1.9-2.1x cold and from 3.4-3.5x to 1.7-1.9x with events in cache. Values a double or
ASCII lowering cannot decide (integers beyond 2**53, other strings where case is folded, strings
with a ':' where there are IPv6 blocks) are given to the Python index one by one; paths with longer
wildcards, `*text*` or anything-but of a wildcard keep their Python index.

Layout, as `_walk.c` reads it: rule ids by index (`names`); groups of rule indices; forks (group,
node indices, next prefix length); tables as `(key, code)` lists; per state, its edges as
`(path id, first, exact table, links table, code of MISSING, index.one, index.absent,
index.collect)`, the last three for `other` edges only; a `typed` edge has its layout (`_typed`)
and `index.one` (for the values only Python decides) there instead. A code is an index shifted left
by `TAG_BITS` with the tag of what it indexes in the low bits.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ccbridge.core.rules.automaton import END, OTHER, Fork, Hit, Node, plain
from ccbridge.core.rules.extract import MISSING, Many
from ccbridge.core.rules.matchers import AnythingBut, EqualsIgnoreCase, Exact, Prefix, Suffix
from ccbridge.core.rules.value_index import ValueIndex

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


class _Untyped(Exception):
    """An `other` edge the C walk cannot look up itself: it calls its Python `ValueIndex`."""


REGION_BUDGET = 4096
"""Targets the regions of one path's numbers may hold beyond 16 per range (overlapping ranges copy
their targets into every region they cover; past this, the Python index's segment tree serves)."""


def _double(number: Any) -> float:
    """`number` as the double equal to it, or `_Untyped` (an integer a double would round)."""
    try:
        double = float(number)
    except OverflowError:
        raise _Untyped from None
    if double != number:
        raise _Untyped
    return double


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
        self._hit_codes: dict[tuple[tuple[Any, ...], tuple[int, ...]], int] = {}
        self._typed_layouts: dict[int, dict[str, Any] | None] = {}  # by id of the `ValueIndex`

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
            if id(links) not in self._typed_layouts:  # (an edge shared by merged states: once)
                self._typed_layouts[id(links)] = self._typed(links)
            typed = self._typed_layouts[id(links)]
            if typed is None:
                return (pid, OTHER, -1, -1, 0, links.one, links.absent, links.collect)
            fallback = links.one if self._needs_fallback(typed) else None
            return (pid, _walk.TYPED, -1, -1, self._hits_code(links.absent), typed, fallback, None)
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

    def _typed(self, index: ValueIndex) -> dict[str, Any] | None:
        """The layout of an `other` edge's index for the C walk (`Typed` in `_walk.c`), or None
        where it has what the C walk leaves to Python: wildcards other than `head*tail` (a regex
        decides), `*text*`, anything-but of a wildcard, or numbers a double cannot hold exactly.
        Strings that need Unicode case folding or may be IPv6 addresses, and integers beyond 2**53,
        are given to the index's `one` (the `fallback`) by the C walk, value by value."""
        pre, suf, folded_pre, folded_suf = index.affixes
        heads, tails_only = index.gated
        if index.contains or len(index.scan) != len(index.anything_but) or tails_only is not None:
            return None
        try:
            strings = [(key, hits) for key, hits in index.exact.items() if isinstance(key, str)]
            others = [(key, hits) for key, hits in index.exact.items() if not isinstance(key, str)]
            bounds, regions = self._numbers(index, others)
            buts = [self._but(m, target) for m, target in index.anything_but]
            return {
                "any_value": self._hits_code(index.any_value),
                "any_string": self._hits_code(index.any_string),
                "specials": [self._hits_code(index.specials.get(key, ())) for key in (True, False, None)],
                "exact": self._entries(strings),
                "prefixes": self._entries(pre.table.items() if pre is not None else ()),
                "suffixes": self._entries(suf.table.items() if suf is not None else ()),
                "folded": self._entries(index.folded.items()),
                "folded_prefixes": self._entries(folded_pre.table.items() if folded_pre is not None else ()),
                "folded_suffixes": self._entries(folded_suf.table.items() if folded_suf is not None else ()),
                "heads": self._heads(heads.table if heads is not None else {}),
                "cidr": self._entries(
                    (chr(plen) + (bits << (32 - plen)).to_bytes(4, "big").decode("latin-1"), hits)
                    for version, plen, table in index.cidr
                    if version == 4
                    for bits, hits in table.items()
                ),
                "ipv6": any(version == 6 for version, _, _ in index.cidr),
                "bounds": bounds,
                "regions": regions,
                "buts": buts,
            }
        except _Untyped:
            return None

    @staticmethod
    def _needs_fallback(typed: dict[str, Any]) -> bool:
        """Whether some value at the path may need Python's answer (see `_typed`)."""
        folds = typed["folded"] or typed["folded_prefixes"] or typed["folded_suffixes"]
        buts = typed["buts"]
        return bool(typed["regions"] or typed["ipv6"] or folds or any(but[4] or but[5] for but in buts))

    def _but(
        self, m: AnythingBut, target: Hit
    ) -> tuple[int, list[Any], list[Any], list[Any], list[float], list[Any]]:
        """An anything-but leaf as `_walk.c`'s `But`: its code, and its exclusions by kind (keys
        only: their codes are never taken)."""
        assert _walk is not None
        member = 1 << _walk.TAG_BITS | _walk.LENGTH
        strings: list[str] = []
        prefixes: list[str] = []
        suffixes: list[str] = []
        numbers: list[float] = []
        folded: list[str] = []
        for excluded in m.excluded:
            if isinstance(excluded, Exact) and isinstance(excluded.value, str):
                strings.append(excluded.value)
            elif isinstance(excluded, Exact) and type(excluded.value) in (int, float):
                numbers.append(_double(excluded.value))
            elif isinstance(excluded, Prefix) and not excluded.fold:
                prefixes.append(excluded.text)
            elif isinstance(excluded, Suffix) and not excluded.fold:
                suffixes.append(excluded.text)
            elif isinstance(excluded, EqualsIgnoreCase):
                folded.append(excluded.text)
            else:
                raise _Untyped  # (wildcards)
        if any(len(key) > _walk.MAX_KEY_CHARS for key in (*strings, *prefixes, *suffixes, *folded)):
            raise _Untyped

        def keys(texts: list[str]) -> list[tuple[str, int]]:
            return [(plain(text), member) for text in dict.fromkeys(texts)]

        return self._hits_code([target]), keys(strings), keys(prefixes), keys(suffixes), numbers, keys(folded)

    def _entries(self, pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, int]]:
        assert _walk is not None
        entries = []
        for key, hits in pairs:
            if len(key) > _walk.MAX_KEY_CHARS:
                raise _Untyped
            entries.append((plain(key), self._hits_code(hits)))
        return entries

    def _heads(self, table: dict[str, Any]) -> list[tuple[str, list[tuple[str, int]]]]:
        """`head*tail` wildcards by head, then tail (`value_index._Tails`)."""
        assert _walk is not None
        heads = []
        for head, by_tail in table.items():
            if len(head) > _walk.MAX_KEY_CHARS:
                raise _Untyped
            tails: dict[str, list[Any]] = {}
            for tail_index in by_tail:
                for tail, checks in tail_index.table.items():
                    for least, regex, target in checks:
                        if regex is not None or least != len(head) + len(tail):
                            raise _Untyped  # (more than two segments: a regex decides)
                        tails.setdefault(tail, []).append(target)
            heads.append((plain(head), self._entries(tails.items())))
        return heads

    def _numbers(self, index: ValueIndex, exact: list[tuple[Any, Any]]) -> tuple[list[float], list[int]]:
        """The number line cut at every bound and exact value: the bounds, and the code of each
        region (the gap below each bound, the bound itself, and above all), which `_walk.c` finds
        by binary search. Refused (`_Untyped`) where a bound is not exact as a double, or where
        overlapping ranges would copy too many targets into the regions."""
        if not exact and not index.numeric:
            return [], []
        values = [_double(key) for key, _ in exact]
        values += [_double(b) for m, _ in index.numeric for b in (m.lo, m.hi) if b is not None]
        bounds = sorted(set(values))
        at = {bound: 2 * i + 1 for i, bound in enumerate(bounds)}
        regions: list[list[Any]] = [[] for _ in range(2 * len(bounds) + 1)]
        for key, hits in exact:
            regions[at[float(key)]].extend(hits)
        budget = REGION_BUDGET + 16 * len(index.numeric)
        for m, target in index.numeric:
            first = 0 if m.lo is None else at[float(m.lo)] + (0 if m.lo_incl else 1)
            last = len(regions) - 1 if m.hi is None else at[float(m.hi)] - (0 if m.hi_incl else 1)
            budget -= max(0, last - first + 1)
            if budget < 0:
                raise _Untyped
            for region in range(first, last + 1):
                regions[region].append(target)
        return bounds, [self._hits_code(hits) for hits in regions]

    def _hits_code(self, hits: Iterable[Hit]) -> int:
        """The code of reaching all of `hits` (an index's targets) at once."""
        assert _walk is not None
        rules = tuple(dict.fromkeys(rule for ends, _ in hits for rule in ends))
        nodes = tuple(dict.fromkeys(self.node_index[node] for _, targets in hits for node in targets))
        if not rules and not nodes:
            return 0
        code = self._hit_codes.get((rules, nodes))
        if code is None:
            if not nodes and len(rules) == 1:
                number, tag = self._name(rules[0]), _walk.RULE
            elif not nodes:
                number, tag = self._group(rules), _walk.GROUP
            elif not rules and len(nodes) == 1:
                number, tag = nodes[0], _walk.NODE
            else:
                number, tag = len(self.forks), _walk.FORK
                self.forks.append((self._group(rules), nodes, END))
            if number > _walk.MAX_ARG:
                raise _Unfit
            code = self._hit_codes[(rules, nodes)] = number << _walk.TAG_BITS | tag
        return code

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
