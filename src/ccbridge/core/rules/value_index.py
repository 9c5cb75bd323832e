"""The values that lead out of one automaton state along one path, arranged so a lookup is cheap.

Every matcher of every leaf becomes an entry pointing at the leaf's target (for `Machine`, the
transition to the leaf's next state), filed by `IndexTables` (`index_tables.py`) and frozen here.
A value then costs a hash lookup for exact and case-folded values, one lookup per distinct length for
prefixes and suffixes (and for wildcards, keyed by their literal head and then tail, or by their
tail: `affixes.py`), a segment-tree walk for numeric ranges (`ranges.py`) and one lookup per
distinct mask length for CIDR blocks (addresses read by `addresses.py`). Only `anything-but`,
`*text*` substrings and wildcards without a literal end are scanned. Each matcher's `test()` is the
specification; this class must agree with it (the property tests hold it to that).

The automaton (`automaton.py`) copies the exact strings and prefixes of a `fast` index into its own
compact tables and asks the index itself only for the other operators (`one`, for a single value).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ccbridge.core.rules.addresses import parse_ip
from ccbridge.core.rules.affixes import Affixes, Tails, Target, freeze, probe
from ccbridge.core.rules.index_tables import IndexTables
from ccbridge.core.rules.matchers import Leaf
from ccbridge.core.rules.ranges import RangeIndex


class ValueIndex:
    """Built once from `(leaf, target)` pairs; read-only afterwards."""

    def __init__(self, pairs: list[tuple[Leaf, Target]]) -> None:
        tables = IndexTables(pairs)
        self.any_value = tables.any_value
        self.any_string = tables.any_string
        self.absent = tables.absent
        self.contains = tables.contains
        self.scan = tables.scan
        self.may_repeat = tables.may_repeat
        self.exact = freeze(tables.exact)
        self.specials = freeze(tables.specials)
        self.folded = freeze(tables.folded)
        self.affixes = tuple(Affixes(t) if t else None for t in tables.affix)
        heads, tails = tables.gated
        self.gated = (
            Affixes({head: [Tails(checks)] for head, checks in heads.items()}) if heads else None,
            Affixes(tails) if tails else None,
        )
        self.cidr = tuple((version, plen, freeze(t)) for (version, plen), t in sorted(tables.cidr.items()))
        self.ranges = RangeIndex(tables.numeric) if tables.numeric else None
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
            probes.append(lambda v, out: probe(pre, v, len(v), True, out))
        if suf is not None:
            probes.append(lambda v, out: probe(suf, v, len(v), False, out))
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
            probe(fpre, f, len(f), True, out)
        if fsuf is not None:
            probe(fsuf, f, len(f), False, out)

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
        probe(tails, v, n, False, candidates)
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
