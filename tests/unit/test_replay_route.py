"""Where a replayed event goes: named subscriptions or all, their filters as they are now, the pattern."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ccbridge.core.ports import ReplaySpec
from ccbridge.core.replay_routing import replay_route
from ccbridge.core.rules import PatternError
from ccbridge.testing.samples import sample_event, sample_subscription

SUBS = [
    sample_subscription("s1", "all"),
    sample_subscription("s2", "big", pattern={"data": {"n": [{"numeric": [">", 5]}]}}),
    replace(sample_subscription("s3", "paused"), state="disabled"),
]


def targets(spec: ReplaySpec, n: int) -> list[str]:
    return [sub_id for sub_id, _ in replay_route(SUBS, spec)(sample_event(n))]


def test_every_matching_active_subscription_when_none_is_named() -> None:
    """Each subscription's own filter decides, as at ingestion; an inactive one receives nothing."""
    assert targets(ReplaySpec(0, 1), 9) == ["s1", "s2"]
    assert targets(ReplaySpec(0, 1), 1) == ["s1"]


def test_named_subscriptions_only_and_the_pattern_narrows() -> None:
    """Naming subscriptions leaves the others out; the replay's pattern must match too."""
    assert targets(ReplaySpec(0, 1, ("s2",)), 9) == ["s2"]
    assert targets(ReplaySpec(0, 1, ("s2",)), 1) == []
    narrow = ReplaySpec(0, 1, (), {"data": {"n": [3]}})
    assert targets(narrow, 3) == ["s1"] and targets(narrow, 9) == []


def test_a_bad_pattern_is_refused_when_the_route_is_built() -> None:
    """A pattern that does not compile raises at once, before any event is replayed."""
    with pytest.raises(PatternError):
        replay_route(SUBS, ReplaySpec(0, 1, (), {"data": "not a list"}))
