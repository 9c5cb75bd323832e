"""Shared helpers: every table case is checked by all three evaluators, which must agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ccbridge.rules import RuleSet, compile_pattern, matches, reference_matches

Evaluate = Callable[[dict[str, Any], dict[str, Any]], bool]


def evaluate_all(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """The reference answer, after asserting the compiled matcher and a RuleSet give the same one."""
    expected = reference_matches(pattern, event)
    assert compile_pattern(pattern).matches(event) is expected
    assert matches(pattern, event) is expected
    ruleset = RuleSet({"decoy": {"zzz": ["never"]}, "rule": pattern})
    assert ruleset.matching(event) == ({"rule"} if expected else set())
    return expected


@pytest.fixture
def evaluate() -> Evaluate:
    return evaluate_all
