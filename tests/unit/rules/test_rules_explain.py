"""The pattern tester's explanation: per-condition checks that agree with the matcher's verdict."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_rules_properties import events, patterns

from ccbridge.core.rules.explain import explain, values_at
from ccbridge.rules import reference_matches


@settings(settings.get_profile("rules"))
@given(patterns(), st.lists(events(), min_size=1, max_size=8))
def test_checks_agree_with_the_reference(pattern: dict[str, Any], docs: list[dict[str, Any]]) -> None:
    """Some alternative has every check holding exactly when the reference evaluator matches."""
    for event in docs:
        why = explain(pattern, event)
        expected = reference_matches(pattern, event)
        assert why.matched is expected
        assert any(all(c.holds for c in alt) for alt in why.alternatives) is expected


def test_names_the_failing_field_and_what_it_found() -> None:
    """A mismatch shows which condition failed and the value the event had there."""
    pattern = {"event": ["call.ended"], "data": {"channel": ["voice"], "duration": [{"numeric": [">", 120]}]}}
    event = {"event": "call.ended", "data": {"channel": "chat", "duration": 300}}
    why = explain(pattern, event)
    assert not why.matched
    checks = {c.path: c for c in why.alternatives[0]}
    assert checks["event"].holds and checks["data.duration"].holds
    assert not checks["data.channel"].holds
    assert checks["data.channel"].found == ("chat",)
    assert "voice" in checks["data.channel"].leaf


def test_values_spread_arrays_and_skip_objects() -> None:
    """Arrays are transparent at any depth; objects are not values."""
    event = {"a": [{"b": 1}, {"b": [2, {"c": 3}]}], "d": {"e": 1}}
    assert values_at(event, ("a", "b")) == [1, 2]
    assert values_at(event, ("d",)) == []
    assert values_at(event, ("missing",)) == []
