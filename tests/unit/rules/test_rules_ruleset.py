"""RuleSet: construction, immutable updates, and matching many subscriptions in one pass."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest

from ccbridge.rules import PatternError, RuleSet, compile_pattern

RULES: dict[str, dict[str, Any]] = {
    "voice": {"event": ["contact.created"], "data": {"channel": ["voice"]}},
    "long": {"data": {"duration": [{"numeric": [">", 120]}]}},
    "eu": {"data": {"queue": [{"prefix": "q-eu-"}]}},
    "no-agent": {"data": {"agent": [{"exists": False}]}},
    "not-sale": {"data": {"wrapup": [{"anything-but": ["Sale", "Upsell"]}]}},
    "all": {},
}
EVENT = {
    "event": "contact.created",
    "data": {"channel": "voice", "duration": 300, "queue": "q-eu-7", "wrapup": "Sale"},
}


def test_matching_returns_every_matching_id() -> None:
    """One call returns the ids of all matching rules, including negative-only and empty patterns."""
    assert RuleSet(RULES).matching(EVENT) == {"voice", "long", "eu", "no-agent", "all"}


def test_empty_ruleset_matches_nothing() -> None:
    """A RuleSet without rules returns an empty set for any event."""
    assert RuleSet().matching(EVENT) == set()
    assert len(RuleSet()) == 0


def test_with_rule_returns_a_new_set() -> None:
    """with_rule adds or replaces a rule in a new RuleSet and leaves the original untouched."""
    original = RuleSet(RULES)
    updated = original.with_rule("sale", {"data": {"wrapup": ["Sale"]}}).with_rule("voice", {"x": [1]})
    assert "sale" in updated and "sale" not in original
    assert updated.matching(EVENT) == {"long", "eu", "no-agent", "all", "sale"}
    assert original.matching(EVENT) == {"voice", "long", "eu", "no-agent", "all"}


def test_without_rule_returns_a_new_set() -> None:
    """without_rule drops a rule (ignoring unknown ids) in a new RuleSet."""
    original = RuleSet(RULES)
    smaller = original.without_rule("all").without_rule("unknown")
    assert len(smaller) == len(RULES) - 1
    assert "all" not in smaller.matching(EVENT)
    assert "all" in original.matching(EVENT)


def test_accepts_compiled_patterns() -> None:
    """Already compiled patterns are reused as they are, without compiling again."""
    compiled = compile_pattern({"a": ["x"]})
    ruleset = RuleSet({"r": compiled})
    assert ruleset.pattern("r") is compiled
    assert ruleset.matching({"a": "x"}) == {"r"}


def test_or_alternatives_report_the_rule_once() -> None:
    """A rule whose several $or branches match is reported once."""
    ruleset = RuleSet({"r": {"$or": [{"a": ["x"]}, {"b": ["y"]}]}, "s": {"a": ["x", "z"]}})
    assert ruleset.matching({"a": ["x", "z"], "b": "y"}) == {"r", "s"}


def test_rules_sharing_conditions() -> None:
    """Rules sharing a first condition still each require their own remaining conditions."""
    rules = {f"r{i}": {"event": ["e"], "data": {"skill": [f"s{i}"]}} for i in range(200)}
    rules["any-skill"] = {"event": ["e"]}
    ruleset = RuleSet(rules)
    assert ruleset.matching({"event": "e", "data": {"skill": "s42"}}) == {"r42", "any-skill"}
    assert ruleset.matching({"event": "f", "data": {"skill": "s42"}}) == set()


def test_safe_to_share_across_threads() -> None:
    """Concurrent readers of one RuleSet all get the same answers (it is never mutated)."""
    ruleset = RuleSet({f"r{i}": {"n": [{"numeric": [">=", i]}]} for i in range(100)})
    errors: list[str] = []

    def read(n: int) -> None:
        for _ in range(200):
            if ruleset.matching({"n": n}) != {f"r{i}" for i in range(min(n, 99) + 1)}:
                errors.append(f"wrong answer for {n}")

    threads = [threading.Thread(target=read, args=(n,)) for n in (0, 17, 50, 99, 150)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_building_leaves_the_collector_as_it_found_it() -> None:
    """The collector is paused while a set is built, on again after (also after a bad pattern), and
    left off if it was off."""
    assert gc.isenabled()
    paused: list[bool] = []

    class Probe(dict[str, Any]):
        """A pattern that records the collector's state when the build reads it."""

        def items(self) -> Any:
            paused.append(not gc.isenabled())
            return super().items()

    RuleSet({"r": Probe(k=["v"])})
    assert paused and all(paused)
    assert gc.isenabled()
    with pytest.raises(PatternError):
        RuleSet({"bad": {"k": []}})
    assert gc.isenabled()
    gc.disable()
    try:
        RuleSet({"r": {"k": ["v"]}})
        assert not gc.isenabled()
    finally:
        gc.enable()
