"""The values that lead out of one automaton state along one path, arranged so a lookup is cheap.

Every matcher of every leaf becomes an entry pointing at the leaf's next state. A value then costs a
hash lookup for exact and case-folded values, one lookup per distinct length for prefixes and
suffixes (and for wildcards, keyed by their literal head or tail), a segment-tree walk for numeric
ranges (`ranges.py`) and one lookup per distinct mask length for CIDR blocks. Only `anything-but`,
`*text*` substrings and wildcards without a literal end are scanned. Each matcher's `test()` is
the specification; this class must agree with it (the property tests hold it to that).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from typing import Any

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
from ccbridge.core.rules.ranges import RangeIndex

Target = Any  # an automaton state; typed loosely to keep this module free of a cycle
Entries = dict[Any, list[Target]]


def _add(table: Entries, key: object, target: Target) -> None:
    bucket = table.setdefault(key, [])
    if target not in bucket:
        bucket.append(target)


def _freeze(table: Entries) -> dict[Any, tuple[Target, ...]]:
    return {k: tuple(v) for k, v in table.items()}


class _Affixes:
    """Prefix (or suffix) strings grouped by length: one slice and one lookup per distinct length."""

    __slots__ = ("lengths", "table")

    def __init__(self, table: Entries) -> None:
        self.table = _freeze(table)
        self.lengths = tuple(sorted({len(k) for k in table}))


def _may_repeat(leaf: Leaf) -> bool:
    """Whether one value can reach the leaf's state through two of its matchers (so `collect` must
    deduplicate). Distinct exact values (and `=` ranges, kept in the same table) never both equal
    one value, and equal ones share a bucket (`_add`); `exists: false` only fires on a missing path."""
    live = [m for m in leaf.matchers if not (isinstance(m, Exists) and not m.present)]
    return len(live) > 1 and not all(isinstance(m, Exact) or _is_point(m) for m in live)


def _is_point(m: Matcher) -> bool:
    return isinstance(m, Numeric) and m.lo is not None and m.lo == m.hi


class ValueIndex:
    """Built once from `(leaf, next_state)` pairs; read-only afterwards."""

    def __init__(self, pairs: list[tuple[Leaf, Target]]) -> None:
        self._exact: Entries = {}
        self._specials: Entries = {}  # True, False, None: kept apart since True == 1 in Python
        self._folded: Entries = {}
        self._affix: tuple[Entries, Entries, Entries, Entries] = ({}, {}, {}, {})  # pre, suf, fpre, fsuf
        self._gated: tuple[Entries, Entries] = ({}, {})  # wildcards keyed by literal prefix / suffix
        self._cidr: dict[tuple[int, int], Entries] = {}
        self._numeric: list[tuple[Numeric, Target]] = []
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
        self.exact = _freeze(self._exact)
        self.specials = _freeze(self._specials)
        self.folded = _freeze(self._folded)
        self.affixes = tuple(_Affixes(t) if t else None for t in self._affix)
        self.gated = tuple(_Affixes(t) if t else None for t in self._gated)
        self.cidr = tuple((version, plen, _freeze(t)) for (version, plen), t in sorted(self._cidr.items()))
        self.ranges = RangeIndex(self._numeric) if self._numeric else None
        self.numbers = self.ranges is not None
        self.fold = bool(self.folded) or self.affixes[2] is not None or self.affixes[3] is not None
        self.strings = bool(
            self.any_string or self.fold or self.contains or self.cidr or any(self.affixes) or any(self.gated)
        )
        pre = self.affixes[0]
        only_strings = all(type(k) is str for k in self.exact)
        others = self.specials or self.numbers or self.scan or self.any_value or self.may_repeat
        plain = not (others or self.any_string or self.fold or self.contains or self.cidr or any(self.gated))
        self.fast = only_strings and plain and self.affixes[1] is None
        """Set when a single value needs only an exact lookup and prefix probes (`Machine`'s hot path);
        string-only keys make the lookup safe for any value, as no string equals a number or bool."""
        self.prefix_lengths = pre.lengths if pre is not None else ()
        self.prefix_table = pre.table if pre is not None else {}
        del self._exact, self._specials, self._folded, self._affix, self._gated, self._cidr, self._numeric

    def _add(self, m: Matcher, target: Target) -> None:
        if isinstance(m, Exact):
            if m.value is None or isinstance(m.value, bool):
                _add(self._specials, m.value, target)
            else:
                _add(self._exact, m.value, target)
        elif isinstance(m, Exists):
            (self.any_value if m.present else self.absent).append(target)
        elif isinstance(m, EqualsIgnoreCase):
            _add(self._folded, m.text, target)
        elif isinstance(m, Prefix | Suffix):
            if not m.text:
                self.any_string.append(target)
            else:
                slot = (0 if isinstance(m, Prefix) else 1) + (2 if m.fold else 0)
                _add(self._affix[slot], m.text, target)
        elif isinstance(m, Wildcard):
            self._add_wildcard(m, target)
        elif isinstance(m, Numeric):
            if m.lo is not None and m.lo == m.hi:
                _add(self._exact, m.lo, target)
            else:
                self._numeric.append((m, target))
        elif isinstance(m, Cidr):
            net = m.network
            table = self._cidr.setdefault((net.version, net.prefixlen), {})
            _add(table, int(net.network_address) >> (net.max_prefixlen - net.prefixlen), target)
        else:
            self.scan.append((m.test, target))

    def _add_wildcard(self, m: Wildcard, target: Target) -> None:
        segs = m.segments
        exact, prefixes, gated = self._exact, self._affix, self._gated
        if len(segs) == 1:
            _add(exact, segs[0], target)
        elif segs == ("", ""):
            self.any_string.append(target)
        elif len(segs) == 2 and not segs[0]:
            _add(prefixes[1], segs[1], target)
        elif len(segs) == 2 and not segs[1]:
            _add(prefixes[0], segs[0], target)
        elif len(segs) == 3 and not segs[0] and not segs[2]:
            self.contains.append((segs[1], target))
        elif segs[0] or segs[-1]:
            # The probe proves the literal head (or tail); the other end and the length are cheap to
            # check, and `head*tail` needs nothing more. Only longer wildcards run their regex.
            check = (segs[-1], sum(map(len, segs)), m.regex if len(segs) > 2 else None, target)
            _add(gated[0] if segs[0] else gated[1], segs[0] or segs[-1], check)
        else:
            self.scan.append((m.test, target))

    def collect(self, values: list[Any], out: list[Target]) -> None:
        """Append the next states reached by `values` (the scalars present at this path), once each."""
        deduplicate = self.may_repeat or len(values) > 1
        found: list[Target] = [] if deduplicate else out
        exact, scan = self.exact, self.scan
        for v in values:
            kind = type(v)
            if kind is str:
                if exact:
                    hit = exact.get(v)
                    if hit:
                        found.extend(hit)
                if self.strings:
                    self._strings(v, found)
            elif kind is bool or v is None:
                hit = self.specials.get(v)
                if hit:
                    found.extend(hit)
            elif kind is int or kind is float:
                if exact:
                    hit = exact.get(v)
                    if hit:
                        found.extend(hit)
                if self.ranges is not None and not math.isnan(v):
                    self.ranges.stab(v, found)
            if scan:
                found.extend(target for test, target in scan if test(v))
        if self.any_value:
            found.extend(self.any_value)
        if deduplicate:
            out.extend(set(found))

    def _strings(self, v: str, out: list[Target]) -> None:
        if self.any_string:
            out.extend(self.any_string)
        n = len(v)
        pre, suf, fpre, fsuf = self.affixes
        if pre is not None:
            _probe(pre, v, n, True, out)
        if suf is not None:
            _probe(suf, v, n, False, out)
        if self.fold:
            f = v.casefold()
            hit = self.folded.get(f)
            if hit:
                out.extend(hit)
            if fpre is not None:
                _probe(fpre, f, len(f), True, out)
            if fsuf is not None:
                _probe(fsuf, f, len(f), False, out)
        for needle, target in self.contains:
            if needle in v:
                out.append(target)
        gpre, gsuf = self.gated
        for gate, at_start in ((gpre, True), (gsuf, False)):
            if gate is not None:
                candidates: list[tuple[str, int, Any, Target]] = []
                _probe(gate, v, n, at_start, candidates)
                out.extend(
                    target
                    for tail, least, regex, target in candidates
                    if n >= least and v.endswith(tail) and (regex is None or regex.fullmatch(v))
                )
        if self.cidr:
            self._addresses(v, out)

    def _addresses(self, v: str, out: list[Target]) -> None:
        parsed = parse_ip(v)
        if parsed is None:
            return
        version, bits = parsed
        width = 32 if version == 4 else 128
        for net_version, plen, table in self.cidr:
            if net_version == version:
                hit = table.get(bits >> (width - plen))
                if hit:
                    out.extend(hit)


def parse_ip(text: str) -> tuple[int, int] | None:
    """(version, integer) of an IP address as `ipaddress.ip_address` reads it, or None.

    Dotted IPv4 is parsed by hand (five times faster, same rules: four decimal octets of at most
    three ASCII digits, no leading zeros, each at most 255); anything with a colon goes to
    `ipaddress`, which is the reference for IPv6.
    """
    if ":" in text:
        try:
            return 6, int(ipaddress.IPv6Address(text))
        except ValueError:
            return None
    parts = text.split(".")
    if len(parts) != 4:
        return None
    bits = 0
    for part in parts:
        if not (0 < len(part) <= 3 and part.isascii() and part.isdigit()) or (
            part[0] == "0" and len(part) > 1
        ):
            return None
        octet = int(part)
        if octet > 255:
            return None
        bits = bits << 8 | octet
    return 4, bits


def _probe(affixes: _Affixes, v: str, n: int, at_start: bool, out: list[Any]) -> None:
    table = affixes.table
    for length in affixes.lengths:
        if length > n:
            break
        hit = table.get(v[:length] if at_start else v[n - length :])
        if hit:
            out.extend(hit)
