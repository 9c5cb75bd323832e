"""String keys and values at the edges of the automaton's tables: strings of every internal width
(a prefix cut from a wide string can be a narrow key), very long keys and values, and tables large
enough to hold many keys that differ only at their end."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_support import assert_agrees

from ccbridge.rules import RuleSet

PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ALPHABET = "ab\u00e9\u20ac\U0001f600"
"""One character of each PEP 393 width: ASCII, Latin-1 (1 byte), BMP (2 bytes), astral (4 bytes), so
a prefix cut from a wide string can be a narrow key."""


@PROFILE
@given(
    exact=st.lists(st.text(ALPHABET, min_size=1, max_size=20), max_size=8),
    prefixes=st.lists(st.text(ALPHABET, min_size=1, max_size=20), max_size=8),
    values=st.lists(st.text(ALPHABET, max_size=24), min_size=1, max_size=8),
)
def test_strings_of_every_width_agree_with_reference(
    exact: list[str], prefixes: list[str], values: list[str]
) -> None:
    """Keys up to 20 characters of up to 4 bytes each; values whose cuts change width."""
    rules: dict[str, dict[str, Any]] = {f"e{i}": {"k": [v]} for i, v in enumerate(exact)}
    rules.update({f"p{i}": {"k": [{"prefix": p}]} for i, p in enumerate(prefixes)})
    candidates = values + exact + prefixes + [p + v for p in prefixes for v in values[:2]]
    assert_agrees(rules, [{"k": v} for v in candidates] + [{}, {"k": 1}, {"k": None}, {"k": True}])


def test_a_narrow_prefix_matches_in_a_wide_value() -> None:
    rules = {
        "latin": {"k": [{"prefix": "caf\u00e9"}]},
        "ascii": {"k": [{"prefix": "ca"}]},
        "wide": {"k": ["\u20ac"]},
    }
    ruleset = RuleSet(rules)
    assert ruleset.matching({"k": "caf\u00e9 \U0001f600"}) == {"latin", "ascii"}
    assert ruleset.matching({"k": "ca\u20ac"}) == {"ascii"}
    assert ruleset.matching({"k": "\u20ac"}) == {"wide"}


def test_large_tables_find_every_key_and_nothing_else() -> None:
    """5,000 keys differing in their last characters: long probe runs, every one found."""
    rules = {f"r{i}": {"k": [f"key-{i:05d}"], "t": ["x"]} for i in range(5000)}
    rules["pre"] = {"k": [{"prefix": "key-0"}]}
    ruleset = RuleSet(rules)
    for i in range(0, 5000, 7):
        assert ruleset.matching({"k": f"key-{i:05d}", "t": "x"}) == {f"r{i}", "pre"}
    assert ruleset.matching({"k": "key-5000", "t": "x"}) == set()
    assert ruleset.matching({"k": "key-00001", "t": "y"}) == {"pre"}


def test_very_long_keys_match_exactly() -> None:
    long_key = "x" * 70_000
    rules = {"long": {"k": [long_key]}, "short": {"k": [{"prefix": "x"}]}}
    ruleset = RuleSet(rules)
    assert ruleset.matching({"k": long_key}) == {"long", "short"}
    assert ruleset.matching({"k": long_key[:-1]}) == {"short"}


def test_long_values_against_short_keys() -> None:
    rules = {"p": {"k": [{"prefix": "ab"}]}, "e": {"k": ["ab"]}}
    ruleset = RuleSet(rules)
    assert ruleset.matching({"k": "ab" + "c" * 100_000}) == {"p"}
