"""The documented semantics of every operator, as a table of (pattern, event, expected) cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Evaluate = Callable[[dict[str, Any], dict[str, Any]], bool]

Case = tuple[str, dict[str, Any], dict[str, Any], bool]

EXACT: list[Case] = [
    ("string equal", {"a": ["x"]}, {"a": "x"}, True),
    ("string is case-sensitive", {"a": ["x"]}, {"a": "X"}, False),
    ("values in a leaf are OR-ed", {"a": ["x", "y"]}, {"a": "y"}, True),
    ("fields are AND-ed", {"a": ["x"], "b": ["y"]}, {"a": "x", "b": "z"}, False),
    ("nested path", {"d": {"c": {"t": ["voice"]}}}, {"d": {"c": {"t": "voice"}}}, True),
    ("missing field never equals", {"a": ["x"]}, {"b": "x"}, False),
    ("integer pattern matches float event", {"a": [300]}, {"a": 300.0}, True),
    ("float pattern matches integer event", {"a": [300.0]}, {"a": 300}, True),
    ("large integers compare exactly", {"a": [12345678901234567890]}, {"a": 12345678901234567890}, True),
    ("large integers differ by one", {"a": [12345678901234567890]}, {"a": 12345678901234567891}, False),
    ("1e20 equals its integer", {"a": [1e20]}, {"a": 100000000000000000000}, True),
    ("numeric string is not a number", {"a": ["300"]}, {"a": 300}, False),
    ("number is not a numeric string", {"a": [300]}, {"a": "300"}, False),
    ("true matches true", {"a": [True]}, {"a": True}, True),
    ("true is not 1", {"a": [True]}, {"a": 1}, False),
    ("1 is not true", {"a": [1]}, {"a": True}, False),
    ("false is not 0", {"a": [0]}, {"a": False}, False),
    ("null matches null", {"a": [None]}, {"a": None}, True),
    ("null does not match a missing field", {"a": [None]}, {}, False),
    ("empty string is not null", {"a": [""]}, {"a": None}, False),
    ("null is not the empty string", {"a": [None]}, {"a": ""}, False),
    ("empty string matches empty string", {"a": [""]}, {"a": ""}, True),
    ("object-valued field has no value", {"a": ["x"]}, {"a": {"b": "x"}}, False),
    ("event array intersects the leaf", {"a": ["x", "y"]}, {"a": ["z", "y"]}, True),
    ("event array without a common value", {"a": ["x"]}, {"a": ["y", "z"]}, False),
    ("empty event array has no value", {"a": ["x"]}, {"a": []}, False),
    ("nested event arrays are flattened", {"a": [3]}, {"a": [[1, 2], [3]]}, True),
    ("array of objects is crushed", {"a": {"b": [2]}}, {"a": [{"b": 1}, {"b": 2}]}, True),
    (
        "conditions may be met by different array elements (flattening)",
        {"a": {"b": ["x"], "c": ["y"]}},
        {"a": [{"b": "x", "c": "n"}, {"b": "n", "c": "y"}]},
        True,
    ),
    ("dotted pattern key is a path, as AWS joins keys", {"a.b": ["x"]}, {"a": {"b": "x"}}, True),
    ("dotted key matches the same key", {"a.b": ["x"]}, {"a.b": "x"}, True),
    ("nested dotted key", {"x": {"s.t": ["v"]}}, {"x": {"s": {"t": "v"}}}, True),
    ("dotted event key is a path", {"x": {"s": {"t": ["v"]}}}, {"x": {"s.t": "v"}}, True),
    ("dotted event key at the top", {"x": {"s": {"t": ["v"]}}}, {"x.s": {"t": "v"}}, True),
    ("dotted keys compare whole parts", {"x": {"s": ["v"]}}, {"x": {"s.t": "v"}}, False),
    ("dotted keys, other value", {"x": {"s.t": ["v"]}}, {"x": {"s": {"t": "w"}}}, False),
    ("dotted keys through arrays", {"x.s": ["v"]}, {"x": [{"s": "w"}, {"s": "v"}]}, True),
    (
        "$or branch replaces the outer condition on its field",
        {"a": ["x"], "$or": [{"a": ["y"]}, {"b": ["z"]}]},
        {"a": "y"},
        True,
    ),
    (
        "$or branch without the field keeps the outer condition",
        {"a": ["x"], "$or": [{"a": ["y"]}, {"b": ["z"]}]},
        {"a": "q", "b": "z"},
        False,
    ),
    (
        "$or branch without the field, outer condition met",
        {"a": ["x"], "$or": [{"a": ["y"]}, {"b": ["z"]}]},
        {"a": "x", "b": "z"},
        True,
    ),
    (
        "$or replacement holds whatever the key order",
        {"$or": [{"a": ["y"]}, {"b": ["z"]}], "a": ["x"]},
        {"a": "y"},
        True,
    ),
    (
        "$or of one still AND-s",
        {"a": [{"numeric": [">", 1]}], "$or": [{"a": [{"numeric": ["<", 5]}]}]},
        {"a": 9},
        False,
    ),
    (
        "nested $or branch replaces a nested outer field",
        {"d": {"a": ["x"], "$or": [{"a": ["y"]}, {"b": ["z"]}]}},
        {"d": {"a": "y"}},
        True,
    ),
    ("empty pattern matches everything", {}, {"anything": 1}, True),
]

STRINGS: list[Case] = [
    ("prefix", {"a": [{"prefix": "sal"}]}, {"a": "sales"}, True),
    ("prefix mismatch", {"a": [{"prefix": "sal"}]}, {"a": "resale"}, False),
    ("prefix is case-sensitive", {"a": [{"prefix": "Sal"}]}, {"a": "sales"}, False),
    ("prefix never matches a number", {"a": [{"prefix": "1"}]}, {"a": 123}, False),
    ("empty prefix matches any string", {"a": [{"prefix": ""}]}, {"a": "x"}, True),
    ("empty prefix does not match null", {"a": [{"prefix": ""}]}, {"a": None}, False),
    (
        "prefix ignoring case",
        {"a": [{"prefix": {"equals-ignore-case": "EventB"}}]},
        {"a": "eventbridge"},
        True,
    ),
    ("prefix on an array element", {"a": [{"prefix": "v"}]}, {"a": ["x", "vip"]}, True),
    ("suffix", {"a": [{"suffix": ".png"}]}, {"a": "cat.png"}, True),
    ("suffix mismatch", {"a": [{"suffix": ".png"}]}, {"a": "cat.PNG"}, False),
    ("suffix ignoring case", {"a": [{"suffix": {"equals-ignore-case": ".png"}}]}, {"a": "cat.PNG"}, True),
    ("equals-ignore-case", {"a": [{"equals-ignore-case": "VOICE"}]}, {"a": "Voice"}, True),
    ("equals-ignore-case needs equality", {"a": [{"equals-ignore-case": "voice"}]}, {"a": "voices"}, False),
    ("equals-ignore-case folds sharp s", {"a": [{"equals-ignore-case": "STRASSE"}]}, {"a": "straße"}, True),
    ("equals-ignore-case ignores numbers", {"a": [{"equals-ignore-case": "1"}]}, {"a": 1}, False),
    ("wildcard suffix", {"a": [{"wildcard": "*.png"}]}, {"a": "dir/cat.png"}, True),
    ("wildcard in the middle", {"a": [{"wildcard": "Simple*Service"}]}, {"a": "SimpleQueueService"}, True),
    ("wildcard star matches nothing", {"a": [{"wildcard": "a*b"}]}, {"a": "ab"}, True),
    ("wildcard must match the whole value", {"a": [{"wildcard": "a*b"}]}, {"a": "abc"}, False),
    ("wildcard with several stars", {"a": [{"wildcard": "a*b*c"}]}, {"a": "a-b-b-c"}, True),
    ("wildcard crosses newlines", {"a": [{"wildcard": "a*c"}]}, {"a": "a\nb\nc"}, True),
    ("escaped star is literal", {"a": [{"wildcard": "a\\*b"}]}, {"a": "a*b"}, True),
    ("escaped star is not a wildcard", {"a": [{"wildcard": "a\\*b"}]}, {"a": "axb"}, False),
    ("escaped backslash is literal", {"a": [{"wildcard": "a\\\\b"}]}, {"a": "a\\b"}, True),
    ("lone star matches the empty string", {"a": [{"wildcard": "*"}]}, {"a": ""}, True),
    ("lone star does not match a number", {"a": [{"wildcard": "*"}]}, {"a": 5}, False),
    ("wildcard without star is exact", {"a": [{"wildcard": "abc"}]}, {"a": "abc"}, True),
    ("contains-style wildcard", {"a": [{"wildcard": "*gold*"}]}, {"a": "premium-gold-tier"}, True),
]

ANYTHING_BUT: list[Case] = [
    ("anything-but string", {"a": [{"anything-but": "x"}]}, {"a": "y"}, True),
    ("anything-but excludes its value", {"a": [{"anything-but": "x"}]}, {"a": "x"}, False),
    ("anything-but is false on a missing field", {"a": [{"anything-but": "x"}]}, {}, False),
    ("anything-but matches null", {"a": [{"anything-but": "x"}]}, {"a": None}, True),
    ("anything-but string matches a number", {"a": [{"anything-but": "5"}]}, {"a": 5}, True),
    ("anything-but list", {"a": [{"anything-but": ["x", "y"]}]}, {"a": "y"}, False),
    ("anything-but number excludes equal float", {"a": [{"anything-but": [100, 300]}]}, {"a": 300.0}, False),
    ("anything-but number keeps others", {"a": [{"anything-but": [100, 300]}]}, {"a": 301}, True),
    ("anything-but number keeps numeric strings", {"a": [{"anything-but": 300}]}, {"a": "300"}, True),
    ("anything-but on an array: any element", {"a": [{"anything-but": "x"}]}, {"a": ["x", "y"]}, True),
    ("anything-but on an array of excluded", {"a": [{"anything-but": "x"}]}, {"a": ["x", "x"]}, False),
    ("anything-but on an empty array", {"a": [{"anything-but": "x"}]}, {"a": []}, False),
    ("anything-but prefix", {"a": [{"anything-but": {"prefix": "init"}}]}, {"a": "running"}, True),
    ("anything-but prefix excludes", {"a": [{"anything-but": {"prefix": "init"}}]}, {"a": "initial"}, False),
    ("anything-but prefix keeps numbers", {"a": [{"anything-but": {"prefix": "1"}}]}, {"a": 12}, True),
    ("anything-but prefix list", {"a": [{"anything-but": {"prefix": ["a", "b"]}}]}, {"a": "bc"}, False),
    ("anything-but suffix", {"a": [{"anything-but": {"suffix": ".tmp"}}]}, {"a": "x.tmp"}, False),
    (
        "anything-but ignoring case",
        {"a": [{"anything-but": {"equals-ignore-case": ["X"]}}]},
        {"a": "x"},
        False,
    ),
    (
        "anything-but ignoring case keeps",
        {"a": [{"anything-but": {"equals-ignore-case": "X"}}]},
        {"a": "y"},
        True,
    ),
    ("anything-but wildcard", {"a": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"a": "/usr/lib/x"}, False),
    (
        "anything-but wildcard keeps",
        {"a": [{"anything-but": {"wildcard": ["*/lib/*", "*.so"]}}]},
        {"a": "/bin"},
        True,
    ),
]

NUMERIC: list[Case] = [
    ("greater than", {"a": [{"numeric": [">", 0]}]}, {"a": 1}, True),
    ("greater than is strict", {"a": [{"numeric": [">", 0]}]}, {"a": 0}, False),
    ("greater or equal", {"a": [{"numeric": [">=", 0]}]}, {"a": 0.0}, True),
    ("less than", {"a": [{"numeric": ["<", 10]}]}, {"a": -5}, True),
    ("less or equal", {"a": [{"numeric": ["<=", 10]}]}, {"a": 10.0}, True),
    ("equal integer to float", {"a": [{"numeric": ["=", 300]}]}, {"a": 300.0}, True),
    ("equal exponent form", {"a": [{"numeric": ["=", 3.018e2]}]}, {"a": 301.8}, True),
    ("range inside", {"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 5}, True),
    ("range outside", {"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 5.000001}, False),
    ("range bounds in either order", {"a": [{"numeric": ["<=", 5, ">", 0]}]}, {"a": 3}, True),
    ("numeric never matches a string", {"a": [{"numeric": [">", 0]}]}, {"a": "5"}, False),
    ("numeric never matches a boolean", {"a": [{"numeric": [">", 0]}]}, {"a": True}, False),
    ("numeric never matches null", {"a": [{"numeric": ["<", 1]}]}, {"a": None}, False),
    ("no six-decimal rounding", {"a": [{"numeric": ["<=", 0.3]}]}, {"a": 0.30000000000000004}, False),
    ("beyond EventBridge's 5e9 limit", {"a": [{"numeric": [">", 5e9]}]}, {"a": 5000000001}, True),
    ("any array element in range", {"a": [{"numeric": [">", 100]}]}, {"a": [1, 200]}, True),
]

EXISTS: list[Case] = [
    ("exists true on a present field", {"a": [{"exists": True}]}, {"a": "x"}, True),
    ("exists true on null", {"a": [{"exists": True}]}, {"a": None}, True),
    ("exists true on a missing field", {"a": [{"exists": True}]}, {}, False),
    ("exists false on a missing field", {"a": [{"exists": False}]}, {"b": 1}, True),
    ("exists false on null", {"a": [{"exists": False}]}, {"a": None}, False),
    ("exists false on an object (not a leaf)", {"a": [{"exists": False}]}, {"a": {"c": 1}}, True),
    ("exists true on an object (not a leaf)", {"a": [{"exists": True}]}, {"a": {"c": 1}}, False),
    ("exists false on an empty array", {"a": [{"exists": False}]}, {"a": []}, True),
    ("exists true on an array", {"a": [{"exists": True}]}, {"a": [1]}, True),
    ("exists false under a missing parent", {"p": {"a": [{"exists": False}]}}, {}, True),
    ("exists false or a value", {"a": [{"exists": False}, "x"]}, {"a": "x"}, True),
    (
        "exists false in an array of objects",
        {"a": {"b": [{"exists": False}]}},
        {"a": [{"b": 1}, {"c": 2}]},
        False,
    ),
]

CIDR: list[Case] = [
    ("IPv4 inside", {"a": [{"cidr": "10.0.0.0/24"}]}, {"a": "10.0.0.255"}, True),
    ("IPv4 outside", {"a": [{"cidr": "10.0.0.0/24"}]}, {"a": "10.0.1.0"}, False),
    ("host bits in the network are ignored", {"a": [{"cidr": "10.0.0.7/24"}]}, {"a": "10.0.0.1"}, True),
    ("a /31 holds two addresses", {"a": [{"cidr": "10.0.0.6/31"}]}, {"a": "10.0.0.7"}, True),
    ("a /127 holds two addresses", {"a": [{"cidr": "2001:db8::/127"}]}, {"a": "2001:db8::1"}, True),
    ("IPv6 inside", {"a": [{"cidr": "2001:db8::/32"}]}, {"a": "2001:db8:ffff::1"}, True),
    ("IPv6 outside", {"a": [{"cidr": "2001:db8::/32"}]}, {"a": "2001:db9::1"}, False),
    ("IPv4 never in an IPv6 block", {"a": [{"cidr": "::/0"}]}, {"a": "10.0.0.1"}, False),
    ("not an address", {"a": [{"cidr": "10.0.0.0/8"}]}, {"a": "10.0.0.300"}, False),
    ("leading zeros are not an address", {"a": [{"cidr": "10.0.0.0/8"}]}, {"a": "010.0.0.1"}, False),
    ("a number is not an address", {"a": [{"cidr": "0.0.0.0/0"}]}, {"a": 167772161}, False),
]

OR: list[Case] = [
    ("$or first branch", {"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"a": "x"}, True),
    ("$or second branch", {"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"b": "y"}, True),
    ("$or no branch", {"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"a": "y", "b": "x"}, False),
    ("$or AND-ed with a field", {"c": [1], "$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"a": "x", "c": 2}, False),
    ("$or at a nested level", {"d": {"$or": [{"a": ["x"]}, {"b": ["y"]}]}}, {"d": {"b": "y"}}, True),
    ("nested level $or stays nested", {"d": {"$or": [{"a": ["x"]}, {"b": ["y"]}]}}, {"b": "y"}, False),
    (
        "$or inside $or",
        {"$or": [{"a": ["x"]}, {"$or": [{"b": ["y"]}, {"c": [{"exists": False}]}]}]},
        {"c": 1},
        False,
    ),
    (
        "one-element $or is an AND",
        {"a": [{"prefix": "x"}], "$or": [{"a": [{"suffix": "z"}]}]},
        {"a": "xyz"},
        True,
    ),
    ("two conditions on one path both hold", {"a": ["x"], "$or": [{"a": ["y"]}]}, {"a": ["x", "y"]}, True),
]

ALL = [
    pytest.param(pattern, event, expected, id=f"{group}: {name}")
    for group, cases in (
        ("exact", EXACT),
        ("strings", STRINGS),
        ("anything-but", ANYTHING_BUT),
        ("numeric", NUMERIC),
        ("exists", EXISTS),
        ("cidr", CIDR),
        ("$or", OR),
    )
    for name, pattern, event, expected in cases
]


@pytest.mark.parametrize(("pattern", "event", "expected"), ALL)
def test_documented_semantics(
    evaluate: Evaluate, pattern: dict[str, Any], event: dict[str, Any], expected: bool
) -> None:
    """Each operator behaves as documented, identically in the reference, compiled and indexed paths."""
    assert evaluate(pattern, event) is expected
