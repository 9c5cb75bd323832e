"""Compiled leaf matchers: one small immutable object per operator, each a predicate on one value.

A *leaf* of a pattern (`"channel": ["voice", {"prefix": "chat"}]`) is an OR of matchers applied to the
values found at its path. The matchers here define, once, how every operator treats each JSON type;
the index (`machine.py`) only re-arranges them for speed and must agree with `test()`.

Typing rules shared by every operator (EventBridge's):
- strings, numbers, booleans and null are distinct: `"1"`, `1` and `true` never equal each other;
- numbers compare by value, so `300` equals `300.0` (Python int/float comparison is exact, with no
  ±5e9 range limit and no rounding to six decimals as EventBridge applies);
- prefix, suffix, equals-ignore-case, wildcard and cidr only ever match strings; numeric only numbers;
- case-insensitive forms compare `str.casefold()` of both sides.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

Scalar = str | int | float | bool | None
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_number(value: object) -> bool:
    """JSON numbers only: `bool` is an `int` subclass in Python but a distinct JSON type."""
    kind = type(value)
    return kind is int or kind is float


def scalar_equal(a: object, b: object) -> bool:
    """Equality of two JSON scalars under the typing rules above."""
    if is_number(a) and is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def number_key(value: int | float) -> str:
    """A canonical spelling so that 300 and 300.0 share one index entry."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def scalar_key(value: Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return number_key(value)


@dataclass(frozen=True, slots=True)
class Exact:
    value: Scalar

    def test(self, value: object) -> bool:
        return scalar_equal(self.value, value)

    def key(self) -> str:
        return "=" + scalar_key(self.value)


@dataclass(frozen=True, slots=True)
class Prefix:
    text: str  # already folded when `fold`
    fold: bool = False

    def test(self, value: object) -> bool:
        if type(value) is not str:
            return False
        return (value.casefold() if self.fold else value).startswith(self.text)

    def key(self) -> str:
        return ("prefix-ic:" if self.fold else "prefix:") + repr(self.text)


@dataclass(frozen=True, slots=True)
class Suffix:
    text: str  # already folded when `fold`
    fold: bool = False

    def test(self, value: object) -> bool:
        if type(value) is not str:
            return False
        return (value.casefold() if self.fold else value).endswith(self.text)

    def key(self) -> str:
        return ("suffix-ic:" if self.fold else "suffix:") + repr(self.text)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    text: str  # already folded

    def test(self, value: object) -> bool:
        return type(value) is str and value.casefold() == self.text

    def key(self) -> str:
        return "eic:" + repr(self.text)


@dataclass(frozen=True, slots=True)
class Wildcard:
    """`*` matches any run of characters (also none); `segments` are the literals between stars."""

    segments: tuple[str, ...]
    regex: re.Pattern[str] = field(compare=False, repr=False)

    @classmethod
    def from_segments(cls, segments: tuple[str, ...]) -> Wildcard:
        body = ".*".join(re.escape(s) for s in segments)
        return cls(segments, re.compile(body, re.DOTALL))

    def test(self, value: object) -> bool:
        return type(value) is str and self.regex.fullmatch(value) is not None

    def key(self) -> str:
        return "wildcard:" + repr(self.segments)


@dataclass(frozen=True, slots=True)
class Numeric:
    """A range; `None` bounds are open-ended. `=` is the closed range [x, x]."""

    lo: int | float | None
    lo_incl: bool
    hi: int | float | None
    hi_incl: bool

    def test(self, value: object) -> bool:
        if not is_number(value):
            return False
        assert isinstance(value, int | float)
        lo, hi = self.lo, self.hi
        if lo is not None and (value < lo or (value == lo and not self.lo_incl)):
            return False
        return not (hi is not None and (value > hi or (value == hi and not self.hi_incl)))

    def key(self) -> str:
        lo = "-inf" if self.lo is None else number_key(self.lo)
        hi = "inf" if self.hi is None else number_key(self.hi)
        return f"numeric:{'[' if self.lo_incl else '('}{lo},{hi}{']' if self.hi_incl else ')'}"


@dataclass(frozen=True, slots=True)
class Cidr:
    network: IPNetwork

    def test(self, value: object) -> bool:
        if type(value) is not str:
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == self.network.version and address in self.network

    def key(self) -> str:
        return f"cidr:{self.network}"


@dataclass(frozen=True, slots=True)
class Exists:
    """Tested on the whole set of values at a path (present or not), never per value."""

    present: bool

    def key(self) -> str:
        return f"exists:{self.present}"


StringMatcher = Prefix | Suffix | EqualsIgnoreCase | Wildcard


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """Matches any present value (of any JSON type, null included) that none of `excluded` matches."""

    excluded: tuple[Exact | StringMatcher, ...]

    def test(self, value: object) -> bool:
        return not any(m.test(value) for m in self.excluded)

    def key(self) -> str:
        return "anything-but:" + ",".join(sorted(m.key() for m in self.excluded))


ValueMatcher = Exact | Prefix | Suffix | EqualsIgnoreCase | Wildcard | Numeric | Cidr | AnythingBut
Matcher = ValueMatcher | Exists


@dataclass(frozen=True, slots=True)
class Leaf:
    """An OR of matchers at one path; `key` is canonical, so equal leaves can share index states."""

    matchers: tuple[Matcher, ...]
    key: str

    @classmethod
    def of(cls, matchers: tuple[Matcher, ...]) -> Leaf:
        return cls(matchers, "[" + "|".join(sorted({m.key() for m in matchers})) + "]")
