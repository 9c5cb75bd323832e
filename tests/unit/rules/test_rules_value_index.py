"""Paths with other operators than exact strings and prefixes, which the automaton looks up in the
path's `ValueIndex`: numbers, CIDR blocks, suffixes, wildcards, case-insensitive values, booleans,
null, `exists` and anything-but.

These add the values where a table lookup could part from the matcher's definition: integers a
double cannot hold, NaN, signed zero, infinities, booleans beside 1 and 0, addresses `ipaddress`
refuses, IPv6 addresses, strings whose case folding is not ASCII lowering, tails that would overlap
their head, and arrays. Each case is held to the reference evaluator."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_support import assert_agrees

from ccbridge.rules import RuleSet

PROFILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BIG = 2**53
"""The largest power of two below which every integer is exact as a double."""

NUMBERS = [
    0,
    -0.0,
    0.5,
    1,
    1.0,
    2,
    300,
    300.0,
    -7,
    BIG,
    -BIG,
    BIG + 1,
    BIG + 2,
    2**64,
    -(2**64),
    1e300,
    10**400,
]
VALUES: list[Any] = [
    *NUMBERS,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
    None,
    "300",
    "",
    "abc",
    "10.1.2.3",
    "10.1.2.255",
    "10.1.3.0",
    "010.1.2.3",
    "10.1.2.3 ",
    "10.1.2",
    "256.1.2.3",
    "10.1.2.3.4",
    "::ffff:10.1.2.3",
    "0.0.0.0",
    "user1@example-4.com",
    "user1x@example-4.com",
    "user1.com",
    "\u20ac10.1.2.3",
    "ab\u20ac",
    "ABC",
    "aBc",
    "ABCD",
    "\u00c4BC",
    "STRASSE",
    "stra\u00dfe",
    "Stra\u00dfe",
    "2001:db8::1",
    "2001:db9::1",
    "::ffff:10.1.2.7",
]
TYPED_LEAVES: list[Any] = [
    {"numeric": [">", 0, "<=", 300]},
    {"numeric": [">=", BIG]},
    {"numeric": [">", BIG]},
    {"numeric": ["<", -BIG]},
    {"numeric": ["=", 300]},
    {"numeric": [">", 0.5, "<", 2]},
    300,
    -0.0,
    BIG,
    "abc",
    "",
    {"cidr": "10.1.2.0/24"},
    {"cidr": "10.0.0.0/8"},
    {"cidr": "0.0.0.0/0"},
    {"cidr": "10.1.2.2/31"},
    {"suffix": "bc"},
    {"suffix": ".com"},
    {"prefix": ""},
    {"prefix": "ab"},
    {"wildcard": "user1*@example-4.com"},
    {"wildcard": "ab*bc"},
    {"wildcard": "*"},
    {"wildcard": "*.com"},
    {"exists": True},
    {"exists": False},
    {"anything-but": ["abc", "300"]},
    {"anything-but": [300, 0.5]},
    {"anything-but": [BIG]},
    {"anything-but": {"prefix": "10."}},
    {"anything-but": {"suffix": ".com"}},
    {"anything-but": [0]},
    {"anything-but": {"equals-ignore-case": "abc"}},
    {"equals-ignore-case": "ABC"},
    {"equals-ignore-case": "Stra\u00dfe"},
    {"prefix": {"equals-ignore-case": "AB"}},
    {"suffix": {"equals-ignore-case": "BC"}},
    {"cidr": "2001:db8::/32"},
    {"cidr": "::ffff:10.1.2.0/120"},
    True,
    False,
    None,
]
SCANNED_LEAVES: list[Any] = [
    {"anything-but": {"wildcard": "a*c"}},
    {"wildcard": "a*b*c"},
    {"wildcard": "*b*"},
    {"wildcard": "*a*c"},
    {"numeric": [">", BIG + 1]},
]


@pytest.mark.parametrize("leaf", TYPED_LEAVES, ids=repr)
def test_every_typed_leaf_agrees_with_reference(leaf: Any) -> None:
    rules = {"alone": {"v": [leaf]}, "after": {"t": ["x"], "v": [leaf]}}
    events = [{"t": "x", "v": value} for value in VALUES] + [{"t": "x"}, {"t": "x", "v": {"nested": 1}}]
    events += [{"t": "x", "v": [value, other]} for value in VALUES[::3] for other in VALUES[1::4]]
    assert_agrees(rules, events)


@pytest.mark.parametrize("leaf", SCANNED_LEAVES, ids=repr)
def test_scanned_leaves_beside_indexed_ones_agree(leaf: Any) -> None:
    """A leaf the index tests one by one (longer wildcards, anything-but of a wildcard, a bound no
    double holds) on a path with indexed leaves."""
    rules = {"odd": {"v": [leaf]}, "typed": {"v": [{"numeric": [">", 0]}, {"suffix": "c"}]}}
    assert_agrees(rules, [{"v": value} for value in VALUES] + [{}])


@PROFILE
@given(
    leaves=st.lists(st.lists(st.sampled_from(TYPED_LEAVES), min_size=1, max_size=3), min_size=1, max_size=6),
    values=st.lists(
        st.one_of(
            st.sampled_from(VALUES),
            st.integers(-(2**70), 2**70),
            st.floats(allow_nan=True),
            st.lists(st.sampled_from(VALUES), min_size=2, max_size=3),
        ),
        min_size=1,
        max_size=10,
    ),
)
def test_typed_paths_agree_with_reference(leaves: list[list[Any]], values: list[Any]) -> None:
    """Several typed leaves on one path (their tables shared, ranges overlapping), some after an
    exact condition, against numbers of every size, strings and arrays."""
    rules: dict[str, dict[str, Any]] = {}
    for i, leaf in enumerate(leaves):
        rules[f"r{i}"] = {"v": leaf} if i % 2 else {"t": ["x"], "v": leaf}
    assert_agrees(rules, [{"t": "x", "v": value} for value in values] + [{"t": "x"}])


def test_many_overlapping_ranges_agree() -> None:
    """Nested ranges, few and many, over one path: every region of the number line they cut."""
    few = {f"r{i}": {"v": [{"numeric": [">=", -i, "<=", i]}]} for i in range(1, 10)}
    many = {f"r{i}": {"v": [{"numeric": [">=", -i, "<=", i]}]} for i in range(1, 400)}
    events = [{"v": value} for value in (-401, -400, -5.5, 0, 3, 9, 9.5, 10, 399, 400, 401, BIG + 1)]
    assert_agrees(few, events)
    assert_agrees(many, events)


class Channel(StrEnum):
    VOICE = "voice"


class Level(IntEnum):
    HIGH = 3


def test_enum_members_in_patterns_mean_their_json_values() -> None:
    """A pattern built in code may exclude a `StrEnum` member: it excludes the JSON string, as an
    `IntEnum` member is its number, in every kind of edge."""
    rules: dict[str, dict[str, Any]] = {
        "but": {"c": [{"anything-but": [Channel.VOICE]}]},
        "but-prefix": {"c": [{"anything-but": {"prefix": Channel.VOICE}}]},
        "but-number": {"n": [{"anything-but": [Level.HIGH]}]},
        "number": {"n": [Level.HIGH, {"numeric": [">", Level.HIGH]}]},
    }
    ruleset = RuleSet(rules)
    assert ruleset.matching({"c": "voice", "n": 3}) == {"number"}
    assert ruleset.matching({"c": "voicemail", "n": 4}) == {"but", "number", "but-number"}
    assert ruleset.matching({"c": "chat", "n": 2}) == {"but", "but-prefix", "but-number"}
