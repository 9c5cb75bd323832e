"""Validation of one leaf of an event pattern into matchers, with messages that say what and where.

The accepted syntax is EventBridge's, with two deliberate widenings (documented in `patterns.py`):
numbers may be any finite JSON number (no ±5e9 limit) and numeric bounds may come in either order.
What AWS refuses is refused with its message, word for word (they are event-ruler's): `anything-but`
with a `prefix` or `suffix` of "" ("Null prefix/suffix not allowed"), a `cidr` without a mask
("Malformed CIDR, one '/' required") or with one that leaves a single address (/32, /128), a
numeric range whose bottom is not below its top ("Bottom must be less than top").
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable

from ccbridge.core.rules.errors import PatternError
from ccbridge.core.rules.matchers import (
    AnythingBut,
    Cidr,
    EqualsIgnoreCase,
    Exact,
    Exists,
    Leaf,
    Matcher,
    Numeric,
    Prefix,
    Scalar,
    StringMatcher,
    Suffix,
    Wildcard,
    is_number,
)

_LOWER = {">": False, ">=": True}
_UPPER = {"<": False, "<=": True}


def json_type(value: object) -> str:
    """The JSON name of a Python value, for messages written for people who think in JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _check_scalar(value: object, where: str) -> Scalar:
    if isinstance(value, float) and not math.isfinite(value):
        raise PatternError(where, f"numbers must be finite, got {value}")
    if value is None or isinstance(value, bool):
        return value
    # A subclass (a `StrEnum` or `IntEnum` member, from patterns built in code) means what its JSON
    # says: its plain value, which every matcher then compares by JSON type.
    if isinstance(value, str):
        return value if type(value) is str else str.__str__(value)
    if isinstance(value, int):
        return value if type(value) is int else int(value)
    if isinstance(value, float):
        return value if type(value) is float else float(value)
    if isinstance(value, list):
        raise PatternError(where, "nested arrays are not allowed in a leaf")
    raise PatternError(where, f"unsupported value of type {json_type(value)}")


def _plain_number(value: object) -> object:
    """An `IntEnum` member (or another int or float subclass, never a bool) as its number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if isinstance(value, float) else int(value)
    return value


def parse_leaf(items: object, where: str) -> Leaf:
    """`items` is the array at a pattern field: values OR-ed with operator objects."""
    if not isinstance(items, list):
        raise PatternError(where, f"a leaf must be an array of values, got {json_type(items)}")
    if not items:
        raise PatternError(where, "empty array: a leaf needs at least one value")
    matchers: list[Matcher] = []
    for item in items:
        if isinstance(item, dict):
            matchers.append(_parse_operator(item, where))
        else:
            matchers.append(Exact(_check_scalar(item, where)))
    return Leaf.of(tuple(matchers))


def _parse_operator(obj: dict[object, object], where: str) -> Matcher:
    if len(obj) != 1:
        names = ", ".join(str(k) for k in obj) or "none"
        raise PatternError(where, f"an operator object takes exactly one key, got {len(obj)} ({names})")
    ((name, arg),) = obj.items()
    parser = _OPERATORS.get(name) if isinstance(name, str) else None
    if parser is None:
        raise PatternError(where, f'unknown operator "{name}"')
    return parser(arg, where)


def _text(op: str, arg: object, where: str) -> str:
    if not isinstance(arg, str):
        raise PatternError(where, f"{op} needs a string, got {json_type(arg)}")
    return str.__str__(arg)  # (a `StrEnum` member: its plain string)


def _prefix_or_suffix(op: str, arg: object, where: str) -> tuple[str, bool]:
    if isinstance(arg, dict):
        if len(arg) == 1 and "equals-ignore-case" in arg:
            return _text(f"{op} equals-ignore-case", arg["equals-ignore-case"], where).casefold(), True
        raise PatternError(where, f'{op} takes a string or {{"equals-ignore-case": string}}')
    return _text(op, arg, where), False


def _prefix(arg: object, where: str) -> Matcher:
    return Prefix(*_prefix_or_suffix("prefix", arg, where))


def _suffix(arg: object, where: str) -> Matcher:
    return Suffix(*_prefix_or_suffix("suffix", arg, where))


def _equals_ignore_case(arg: object, where: str) -> Matcher:
    return EqualsIgnoreCase(_text("equals-ignore-case", arg, where).casefold())


def parse_wildcard(text: str, where: str) -> Wildcard:
    """`\\*` is a literal star and `\\\\` a literal backslash; any other escape is an error."""
    segments: list[str] = []
    current: list[str] = []
    i, previous_star = 0, False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt not in ("*", "\\"):
                raise PatternError(where, f"wildcard: invalid escape at position {i} of {text!r}")
            current.append(nxt)
            i, previous_star = i + 2, False
            continue
        if ch == "*":
            if previous_star:
                raise PatternError(where, f"wildcard with consecutive '*' in {text!r}")
            segments.append("".join(current))
            current, previous_star = [], True
        else:
            current.append(ch)
            previous_star = False
        i += 1
    segments.append("".join(current))
    return Wildcard.from_segments(tuple(segments))


def _wildcard(arg: object, where: str) -> Matcher:
    return parse_wildcard(_text("wildcard", arg, where), where)


def _exists(arg: object, where: str) -> Matcher:
    if not isinstance(arg, bool):
        raise PatternError(where, f"exists needs true or false, got {json_type(arg)}")
    return Exists(arg)


_MASK_BITS = re.compile(r"[+-]?[0-9]+")


def _cidr(arg: object, where: str) -> Matcher:
    """An address block with its mask, refused with event-ruler's own messages (AWS answers them
    word for word): a mask must be given, and must leave more than one address."""
    text = _text("cidr", arg, where)
    parts = text.split("/")
    if len(parts) != 2 or not parts[1]:
        raise PatternError(where, "Malformed CIDR, one '/' required")
    address, bits = parts
    if not _MASK_BITS.fullmatch(bits):
        raise PatternError(where, "Malformed CIDR, mask bits must be an integer")
    mask = int(bits)
    if mask < 0:
        raise PatternError(where, "Malformed CIDR, mask bits must not be negative")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise PatternError(where, f"Nonstandard IP address: {address}") from None
    if ip.version == 4 and mask > 31:
        raise PatternError(where, "IPv4 mask bits must be < 32")
    if ip.version == 6 and mask > 127:
        raise PatternError(where, "IPv6 mask bits must be < 128")
    return Cidr(ipaddress.ip_network(f"{address}/{mask}", strict=False))


def _numeric(arg: object, where: str) -> Matcher:
    if not isinstance(arg, list) or not arg:
        raise PatternError(where, 'numeric needs an array like [">", 0, "<=", 5]')
    if len(arg) not in (2, 4):
        raise PatternError(where, "numeric takes one comparison or a range of two")
    pairs: list[tuple[str, int | float]] = []
    for op, given in zip(arg[0::2], arg[1::2], strict=True):
        value = _plain_number(given)
        if op not in ("=", *_LOWER, *_UPPER):
            raise PatternError(where, f"numeric: unknown comparison {op!r}")
        if not is_number(value):
            raise PatternError(where, f'numeric with a {json_type(value)}: "{op}" needs a number')
        assert isinstance(value, int | float)
        if not math.isfinite(value):
            raise PatternError(where, f"numbers must be finite, got {value}")
        pairs.append((op, value))
    if len(pairs) == 1:
        op, value = pairs[0]
        if op == "=":
            return Numeric(value, True, value, True)
        if op in _LOWER:
            return Numeric(value, _LOWER[op], None, False)
        return Numeric(None, False, value, _UPPER[op])
    lower = [p for p in pairs if p[0] in _LOWER]
    upper = [p for p in pairs if p[0] in _UPPER]
    if len(lower) != 1 or len(upper) != 1:
        raise PatternError(where, "numeric range needs one lower (>, >=) and one upper (<, <=) bound")
    (lo_op, lo), (hi_op, hi) = lower[0], upper[0]
    if lo >= hi:  # event-ruler's rule and message, even for [">=", 1, "<=", 1]
        raise PatternError(where, "Bottom must be less than top")
    return Numeric(lo, _LOWER[lo_op], hi, _UPPER[hi_op])


_ANYTHING_BUT_INNER: dict[str, Callable[[str, str], StringMatcher]] = {
    "prefix": lambda s, _w: Prefix(s),
    "suffix": lambda s, _w: Suffix(s),
    "equals-ignore-case": lambda s, _w: EqualsIgnoreCase(s.casefold()),
    "wildcard": parse_wildcard,
}


def _anything_but(arg: object, where: str) -> Matcher:
    if isinstance(arg, dict):
        if len(arg) != 1 or next(iter(arg)) not in _ANYTHING_BUT_INNER:
            raise PatternError(
                where, "anything-but object takes one of prefix, suffix, equals-ignore-case, wildcard"
            )
        ((name, inner),) = arg.items()
        texts = inner if isinstance(inner, list) else [inner]
        if not texts:
            raise PatternError(where, f"anything-but {name}: empty array")
        make = _ANYTHING_BUT_INNER[name]
        if name in ("prefix", "suffix") and any(t == "" for t in texts):
            raise PatternError(where, "Null prefix/suffix not allowed")
        return AnythingBut(tuple(make(_text(f"anything-but {name}", t, where), where) for t in texts))
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise PatternError(where, "anything-but: empty array")
    if all(isinstance(v, str) for v in values) or all(is_number(_plain_number(v)) for v in values):
        return AnythingBut(tuple(Exact(_check_scalar(v, where)) for v in values))
    raise PatternError(
        where, "anything-but takes a string, a number, or an array of only strings or only numbers"
    )


_OPERATORS: dict[str, Callable[[object, str], Matcher]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "exists": _exists,
    "cidr": _cidr,
}
