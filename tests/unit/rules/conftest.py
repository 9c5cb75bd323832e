"""Shared helpers: every table case is checked by all three evaluators, which must agree; every
machine generates its extractor early, so tests exercise both the walked and the generated one; and
every test runs on both walks of the automaton, the C one and the Python one (`native.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ccbridge.core.rules import machine, native
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


@pytest.fixture(autouse=True)
def _generate_extractors_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine walks its key trie for the first event only, then uses the generated extractor."""
    monkeypatch.setattr(machine, "_GENERATE_AFTER", 2)


@pytest.fixture(autouse=True, params=["c-walk", "python-walk"])
def walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The C walk where the server uses it (it must be built here: `make install` installs a
    compiler where there is none), and the Python walk, its fallback and reference."""
    if request.param == "python-walk":
        monkeypatch.setenv("CCBRIDGE_RULES_PYTHON", "1")
    else:
        monkeypatch.delenv("CCBRIDGE_RULES_PYTHON", raising=False)
        assert native.BUILT, "the C walk is not built (see scripts/ensure_compiler.sh)"
    return str(request.param)
