"""The values that lead out of one automaton state along one path, arranged so a lookup is cheap.

Every matcher of every leaf becomes an entry pointing at the leaf's target (for `Machine`, the
transition to the leaf's next state). A value then costs a hash lookup for exact and case-folded
values, one lookup per distinct length for prefixes and suffixes (and for wildcards, keyed by their
literal head and then tail, or by their tail), a segment-tree walk for numeric ranges (`ranges.py`)
and one lookup per distinct mask length for CIDR blocks. Only `anything-but`, `*text*` substrings
and wildcards without a literal end are scanned. Each matcher's `test()` is the specification; this
class must agree with it (the property tests hold it to that).

The automaton (`automaton.py`) copies the exact strings and prefixes of a `fast` index into its own
compact tables and asks the index itself only for the other operators (`one`, for a single value).
"""

from __future__ import annotations

import ipaddress
import math
import socket
import struct
from collections.abc import Callable, Sequence
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


class _Tails:
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


def _may_repeat(leaf: Leaf) -> bool:
    """Whether one value can reach the leaf's state through two of its matchers (so `collect` must
    deduplicate). Distinct exact values (and `=` ranges, kept in the same table) never both equal
    one value, and equal ones share a bucket (`_add`); `exists: false` only fires on a missing path."""
    live = [m for m in leaf.matchers if not (isinstance(m, Exists) and not m.present)]
    return len(live) > 1 and not all(isinstance(m, Exact) or _is_point(m) for m in live)


def _is_point(m: Matcher) -> bool:
    return isinstance(m, Numeric) and m.lo is not None and m.lo == m.hi


class ValueIndex:
    """Built once from `(leaf, target)` pairs; read-only afterwards."""

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
        heads, tails = self._gated
        self.gated = (
            _Affixes({head: [_Tails(checks)] for head, checks in heads.items()}) if heads else None,
            _Affixes(tails) if tails else None,
        )
        self.cidr = tuple((version, plen, _freeze(t)) for (version, plen), t in sorted(self._cidr.items()))
        self.ranges = RangeIndex(self._numeric) if self._numeric else None
        self.numbers = self.ranges is not None
        self.fold = bool(self.folded) or self.affixes[2] is not None or self.affixes[3] is not None
        pre = self.affixes[0]
        only_strings = all(type(k) is str for k in self.exact)
        others = self.specials or self.numbers or self.scan or self.any_value or self.may_repeat
        plain = not (others or self.any_string or self.fold or self.contains or self.cidr or any(self.gated))
        self.fast = only_strings and plain and self.affixes[1] is None
        """Set when a single value needs only an exact lookup and prefix probes (`Machine`'s hot path);
        string-only keys make the lookup safe for any value, as no string equals a number or bool."""
        self.prefix_lengths = pre.lengths if pre is not None else ()
        self.prefix_table = pre.table if pre is not None else {}
        self._on_string = self._string_probes()
        self._on_number = self._number_probes()
        self.one = self._one()
        """`collect((value,), out)` for a single value (the usual case, an event path holding a scalar)."""
        del self._exact, self._specials, self._folded, self._affix, self._gated, self._cidr, self._numeric

    def _string_probes(self) -> tuple[Callable[[str, list[Target]], None], ...]:
        """What a string value is looked up in, leaving out what this index does not have (most
        indexes have one or two kinds of entries, and checking for every kind per value adds up)."""
        probes: list[Callable[[str, list[Target]], None]] = []
        if self.exact:
            probes.append(self._exact_one)
        if self.any_string:
            probes.append(self._any_string)
        pre, suf = self.affixes[0], self.affixes[1]
        if pre is not None:
            probes.append(lambda v, out: _probe(pre, v, len(v), True, out))
        if suf is not None:
            probes.append(lambda v, out: _probe(suf, v, len(v), False, out))
        if self.fold:
            probes.append(self._folded_one)
        if self.contains:
            probes.append(self._contains)
        if self.gated[0] is not None:
            probes.append(self._headed)
        if self.gated[1] is not None:
            probes.append(self._tailed)
        if self.cidr:
            probes.append(self._addresses)
        return tuple(probes)

    def _one(self) -> Callable[[Any, list[Target]], None]:
        """`collect` for one value, without its loops, tuple and flags where nothing needs them: no
        deduplication (one value reaches a target once unless `may_repeat`), no scans, no targets
        for every value, no booleans or null in the tables. About half the cost of `collect`."""
        if self.may_repeat or self.scan or self.any_value or self.specials:
            return lambda v, out: self.collect((v,), out)
        on_string, on_number = self._on_string, self._on_number
        if len(on_string) == 1 and not on_number:
            (probe,) = on_string

            def one_probe(v: Any, out: list[Target]) -> None:
                if type(v) is str:
                    probe(v, out)

            return one_probe

        def one(v: Any, out: list[Target]) -> None:
            kind = type(v)
            if kind is str:
                for string_probe in on_string:
                    string_probe(v, out)
            elif kind is int or kind is float:
                for number_probe in on_number:
                    number_probe(v, out)

        return one

    def _number_probes(self) -> tuple[Callable[[int | float, list[Target]], None], ...]:
        probes: list[Callable[[int | float, list[Target]], None]] = []
        if self.exact:
            probes.append(self._exact_one)
        if self.ranges is not None:
            probes.append(self._stab)
        return tuple(probes)

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
            # The probes prove the literal head and tail (see `_Tails`), or the tail alone; the
            # length is cheap to check, and `head*tail` needs nothing more. Only wildcards with
            # more segments run their regex.
            check = (segs[-1], sum(map(len, segs)), m.regex if len(segs) > 2 else None, target)
            _add(gated[0] if segs[0] else gated[1], segs[0] or segs[-1], check)
        else:
            self.scan.append((m.test, target))

    def collect(self, values: Sequence[Any], out: list[Target]) -> None:
        """Append the next states reached by `values` (the scalars present at this path), once each."""
        deduplicate = self.may_repeat or len(values) > 1
        found: list[Target] = [] if deduplicate else out
        scan = self.scan
        for v in values:
            kind = type(v)
            if kind is str:
                for probe in self._on_string:
                    probe(v, found)
            elif kind is bool or v is None:
                hit = self.specials.get(v)
                if hit:
                    found.extend(hit)
            elif kind is int or kind is float:
                for number_probe in self._on_number:
                    number_probe(v, found)
            if scan:
                found.extend(target for test, target in scan if test(v))
        if self.any_value:
            found.extend(self.any_value)
        if deduplicate:
            out.extend(set(found))

    def _exact_one(self, v: str | int | float, out: list[Target]) -> None:
        hit = self.exact.get(v)
        if hit:
            out.extend(hit)

    def _stab(self, v: int | float, out: list[Target]) -> None:
        if self.ranges is not None and not (
            type(v) is float and math.isnan(v)
        ):  # (an int may not fit a float)
            self.ranges.stab(v, out)

    def _any_string(self, v: str, out: list[Target]) -> None:
        out.extend(self.any_string)

    def _folded_one(self, v: str, out: list[Target]) -> None:
        f = v.casefold()
        hit = self.folded.get(f)
        if hit:
            out.extend(hit)
        _, _, fpre, fsuf = self.affixes
        if fpre is not None:
            _probe(fpre, f, len(f), True, out)
        if fsuf is not None:
            _probe(fsuf, f, len(f), False, out)

    def _contains(self, v: str, out: list[Target]) -> None:
        for needle, target in self.contains:
            if needle in v:
                out.append(target)

    def _headed(self, v: str, out: list[Target]) -> None:
        heads = self.gated[0]
        assert heads is not None
        n, table = len(v), heads.table
        for length in heads.lengths:
            if length > n:
                break
            hit = table.get(v[:length])
            if hit:
                for by_tail in hit:
                    by_tail.collect(v, n, out)

    def _tailed(self, v: str, out: list[Target]) -> None:
        """Wildcards with a literal tail only (`*a*b`): the tail is probed, the rest is a regex."""
        tails = self.gated[1]
        assert tails is not None
        candidates: list[tuple[str, int, Any, Target]] = []
        n = len(v)
        _probe(tails, v, n, False, candidates)
        out.extend(t for _, least, regex, t in candidates if n >= least and regex.fullmatch(v))

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


_AF_INET = int(socket.AF_INET)
_PTON = socket.inet_pton
_NTOP = socket.inet_ntop
_WORD = struct.Struct(">I").unpack


def _pton_is_strict() -> bool:
    """Whether this C library's `inet_pton` refuses every dotted form `ipaddress` refuses (glibc's
    does: only four decimal octets, each at most 255, without leading zeros), so that an address it
    reads needs no check by writing it back. Asked once, at import, with the forms libraries differ on."""
    for loose in (
        "01.2.3.4",
        "1.2.3.04",
        "00.0.0.0",
        "1.2.3.010",
        "0x1.2.3.4",
        "1.2.3",
        "1.2.3.4 ",
        "1.2.3.4.",
    ):
        try:
            _PTON(_AF_INET, loose)
        except (OSError, ValueError):
            continue
        return False
    return True


_STRICT_PTON = _pton_is_strict()


def parse_ip(text: str) -> tuple[int, int] | None:
    """(version, integer) of an IP address as `ipaddress.ip_address` reads it, or None.

    Dotted IPv4 is read by the C library (`inet_pton`, five times faster than `ipaddress`). Where
    that `inet_pton` is looser than `ipaddress`'s rule (four decimal octets, each at most 255, no
    leading zeros), an address is accepted only if `inet_ntop` writes it back identically. Anything
    with a colon goes to `ipaddress`, the reference for IPv6.
    """
    if ":" in text:
        try:
            return 6, int(ipaddress.IPv6Address(text))
        except ValueError:
            return None
    try:
        packed = _PTON(_AF_INET, text)
    except (OSError, ValueError):  # not an address; or a NUL, or a lone surrogate (UnicodeError)
        return None
    if not _STRICT_PTON and _NTOP(_AF_INET, packed) != text:
        return None
    return 4, _WORD(packed)[0]


def _probe(affixes: _Affixes, v: str, n: int, at_start: bool, out: list[Any]) -> None:
    table = affixes.table
    for length in affixes.lengths:
        if length > n:
            break
        hit = table.get(v[:length] if at_start else v[n - length :])
        if hit:
            out.extend(hit)
