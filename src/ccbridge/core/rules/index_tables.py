"""A path's matchers sorted into the tables their kind is looked up in, for `ValueIndex` to freeze.

Every matcher of every leaf becomes an entry pointing at the leaf's target: exact values (and
numeric `=` points, which equal the same numbers) in `exact`, booleans and null apart in `specials`
(`True == 1` in Python), case-folded values in `folded`, prefixes and suffixes by kind in `affix`,
wildcards by their literal head or tail in `gated` (or, when they reduce to one, as an exact value, a
prefix, a suffix or a substring), numeric ranges in `numeric`, CIDR blocks by (version, mask length)
in `cidr`, `exists` in `any_value` or `absent`; whatever has no table (`anything-but`, wildcards
without a literal end) is scanned with its `test()`. `may_repeat` says whether one value can reach
a target through two matchers, so a lookup must deduplicate.
"""

from __future__ import annotations

from collections.abc import Callable

from ccbridge.core.rules.affixes import Entries, Target, add_target
from ccbridge.core.rules.matchers import (
    Cidr,
    EqualsIgnoreCase,
    Exact,
    Exists,
    Leaf,
    Matcher,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
)


def _may_repeat(leaf: Leaf) -> bool:
    """Whether one value can reach the leaf's state through two of its matchers (so `collect` must
    deduplicate). Distinct exact values (and `=` ranges, kept in the same table) never both equal
    one value, and equal ones share a bucket (`add_target`); `exists: false` only fires on a missing path."""
    live = [m for m in leaf.matchers if not (isinstance(m, Exists) and not m.present)]
    return len(live) > 1 and not all(isinstance(m, Exact) or _is_point(m) for m in live)


def _is_point(m: Matcher) -> bool:
    return isinstance(m, Numeric) and m.lo is not None and m.lo == m.hi


class IndexTables:
    """Built from `(leaf, target)` pairs; its tables are mutable, for `ValueIndex` to freeze."""

    def __init__(self, pairs: list[tuple[Leaf, Target]]) -> None:
        self.exact: Entries = {}
        self.specials: Entries = {}  # True, False, None: kept apart since True == 1 in Python
        self.folded: Entries = {}
        self.affix: tuple[Entries, Entries, Entries, Entries] = ({}, {}, {}, {})  # pre, suf, fpre, fsuf
        self.gated: tuple[Entries, Entries] = ({}, {})  # wildcards keyed by literal prefix / suffix
        self.cidr: dict[tuple[int, int], Entries] = {}
        self.numeric: list[tuple[Numeric, Target]] = []
        self.any_value: list[Target] = []
        self.any_string: list[Target] = []
        self.absent: list[Target] = []
        self.contains: list[tuple[str, Target]] = []
        self.scan: list[tuple[Callable[[object], bool], Target]] = []
        self.may_repeat = False
        for leaf, target in pairs:
            for m in leaf.matchers:
                self._add(m, target)
            self.may_repeat |= _may_repeat(leaf)

    def _add(self, m: Matcher, target: Target) -> None:
        if isinstance(m, Exact):
            if m.value is None or isinstance(m.value, bool):
                add_target(self.specials, m.value, target)
            else:
                add_target(self.exact, m.value, target)
        elif isinstance(m, Exists):
            (self.any_value if m.present else self.absent).append(target)
        elif isinstance(m, EqualsIgnoreCase):
            add_target(self.folded, m.text, target)
        elif isinstance(m, Prefix | Suffix):
            if not m.text:
                self.any_string.append(target)
            else:
                slot = (0 if isinstance(m, Prefix) else 1) + (2 if m.fold else 0)
                add_target(self.affix[slot], m.text, target)
        elif isinstance(m, Wildcard):
            self._add_wildcard(m, target)
        elif isinstance(m, Numeric):
            if m.lo is not None and m.lo == m.hi:
                add_target(self.exact, m.lo, target)
            else:
                self.numeric.append((m, target))
        elif isinstance(m, Cidr):
            net = m.network
            table = self.cidr.setdefault((net.version, net.prefixlen), {})
            add_target(table, int(net.network_address) >> (net.max_prefixlen - net.prefixlen), target)
        else:
            self.scan.append((m.test, target))

    def _add_wildcard(self, m: Wildcard, target: Target) -> None:
        segs = m.segments
        exact, prefixes, gated = self.exact, self.affix, self.gated
        if len(segs) == 1:
            add_target(exact, segs[0], target)
        elif segs == ("", ""):
            self.any_string.append(target)
        elif len(segs) == 2 and not segs[0]:
            add_target(prefixes[1], segs[1], target)
        elif len(segs) == 2 and not segs[1]:
            add_target(prefixes[0], segs[0], target)
        elif len(segs) == 3 and not segs[0] and not segs[2]:
            self.contains.append((segs[1], target))
        elif segs[0] or segs[-1]:
            # The probes prove the literal head and tail (see `affixes.Tails`), or the tail alone; the
            # length is cheap to check, and `head*tail` needs nothing more. Only wildcards with
            # more segments run their regex.
            check = (segs[-1], sum(map(len, segs)), m.regex if len(segs) > 2 else None, target)
            add_target(gated[0] if segs[0] else gated[1], segs[0] or segs[-1], check)
        else:
            self.scan.append((m.test, target))
