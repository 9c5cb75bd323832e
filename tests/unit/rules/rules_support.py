"""What several rules test modules assert: a RuleSet's answers are exactly the reference's."""

from __future__ import annotations

import json
from typing import Any

from ccbridge.rules import RuleSet, reference_matches


def assert_agrees(rules: dict[str, dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """Every event's matching rule ids, from one RuleSet of `rules`, are those the reference
    evaluator (written straight from the pattern language's definition) finds one rule at a time."""
    ruleset = RuleSet(rules)
    for event in events:
        expected = {rule_id for rule_id, pattern in rules.items() if reference_matches(pattern, event)}
        assert ruleset.matching(event) == expected, json.dumps(event, default=repr)
