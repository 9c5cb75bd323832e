"""Wildcard complexity as EventBridge bounds it: the measure grows with the partial matches one
input keeps alive, and patterns people write stay well under the limit."""

from __future__ import annotations

import pytest

from ccbridge.core.rules.complexity import MAX_COMPLEXITY, complexity
from ccbridge.core.rules.operators import parse_wildcard
from ccbridge.rules import compile_pattern


def measure(*texts: str) -> int:
    return complexity([parse_wildcard(t, "x") for t in texts], cap=1000)


@pytest.mark.parametrize(
    "text",
    [
        "*",
        "*.png",
        "*Sale*",
        "arn:aws:events:*:*:event-bus/*",
        "arn:aws:s3:::bucket/*/*.png",
        "user*@example.com",
    ],
)
def test_usual_wildcards_are_accepted(text: str) -> None:
    assert measure(text) <= MAX_COMPLEXITY
    compile_pattern({"resources": [{"wildcard": text}]})


def test_each_star_that_input_can_restart_adds_live_states() -> None:
    """`*:` repeated: every `:` of the input may start the next star, so all stay alive together."""
    counts = [measure(":".join(["*"] * n) + ":event-bus/*") for n in range(1, 7)]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    assert measure("*:*:*:*:*:event-bus/*") > MAX_COMPLEXITY


def test_a_literal_wildcard_adds_nothing() -> None:
    assert measure("abc") == 0
    assert measure("a\\*b") == 0


def test_wildcards_sharing_a_field_add_up() -> None:
    one = measure("*ab*")
    assert measure("*ab*", "*ac*") > one
