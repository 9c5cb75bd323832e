"""The C walk (`_walk.c`, laid out by `native.py`): what it must do beyond what every rules test
already checks on it (the autouse `walk` fixture runs them all on both walks).

Strings of every internal width, keys too long to keep inline, tables large enough to probe far,
automata that do not fit the layout, and a `Program` built from malformed input, which must raise
rather than read outside its arrays."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_support import assert_agrees

from ccbridge.core.rules import native
from ccbridge.core.rules.extract import MISSING, Many
from ccbridge.rules import RuleSet

PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ALPHABET = "ab\u00e9\u20ac\U0001f600"
"""One character of each PEP 393 width: ASCII, Latin-1 (1 byte), BMP (2 bytes), astral (4 bytes), so
a prefix cut from a wide string can be a narrow key."""


def _program(ruleset: RuleSet) -> Any:
    return ruleset._machine._program


def test_the_server_path_uses_the_c_walk(walk: str) -> None:
    ruleset = RuleSet({"a": {"type": ["x"]}, "b": {"type": [{"prefix": "y"}], "n": [{"numeric": [">", 1]}]}})
    assert (_program(ruleset) is not None) is (walk == "c-walk")
    assert ruleset.matching({"type": "y1", "n": 2}) == {"b"}


@PROFILE
@given(
    exact=st.lists(st.text(ALPHABET, min_size=1, max_size=20), max_size=8),
    prefixes=st.lists(st.text(ALPHABET, min_size=1, max_size=20), max_size=8),
    values=st.lists(st.text(ALPHABET, max_size=24), min_size=1, max_size=8),
)
def test_strings_of_every_width_agree_with_reference(
    exact: list[str], prefixes: list[str], values: list[str]
) -> None:
    """Keys up to 20 characters of up to 4 bytes: inline and pooled; values whose cuts change width."""
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


def test_keys_beyond_the_layout_fall_back_to_the_python_walk(walk: str) -> None:
    long_key = "x" * 70_000
    rules = {"long": {"k": [long_key]}, "short": {"k": [{"prefix": "x"}]}}
    ruleset = RuleSet(rules)
    assert _program(ruleset) is None  # a key over 65,535 characters: the C layout cannot hold it
    assert ruleset.matching({"k": long_key}) == {"long", "short"}
    assert ruleset.matching({"k": long_key[:-1]}) == {"short"}


def test_long_values_against_short_keys() -> None:
    rules = {"p": {"k": [{"prefix": "ab"}]}, "e": {"k": ["ab"]}}
    ruleset = RuleSet(rules)
    assert ruleset.matching({"k": "ab" + "c" * 100_000}) == {"p"}


def test_environment_selects_the_python_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCBRIDGE_RULES_PYTHON", "1")
    assert not native.enabled()
    monkeypatch.setenv("CCBRIDGE_RULES_PYTHON", "0")
    assert native.enabled() is native.BUILT


@pytest.fixture
def walk_module() -> Any:
    assert native._walk is not None, "the C walk is not built"
    return native._walk


def _layout(**changes: Any) -> dict[str, Any]:
    """A valid one-node program (rule 0 for key "a"), with `changes` applied."""
    args: dict[str, Any] = {
        "names": ("r",),
        "groups": [(0,)],
        "forks": [],
        "tables": [[("a", 0 << 3 | 1)]],
        "links_flags": [False],
        "nodes": [[(0, 0, 0, -1, 0, None, None, None)]],
        "root": 0,
        "width": 1,
        "missing": MISSING,
        "many": Many,
        "node_index": {},
    }
    args.update(changes)
    return args


def test_a_valid_layout_walks(walk_module: Any) -> None:
    program = walk_module.Program(**_layout())
    result: set[str] = set()
    program.walk(["a"], result)
    program.walk(["b"], result)
    assert result == {"r"}


def _typed(fallback: Any = None, **changes: Any) -> dict[str, Any]:
    """A one-node program with one typed edge (rule 0 for the string "a"), `changes` applied to its
    layout."""
    typed: dict[str, Any] = {
        "any_value": 0,
        "any_string": 0,
        "specials": [0, 0, 0],
        "exact": [("a", 0 << 3 | 1)],
        "prefixes": [],
        "suffixes": [],
        "folded": [],
        "folded_prefixes": [],
        "folded_suffixes": [],
        "heads": [],
        "cidr": [],
        "ipv6": False,
        "bounds": [],
        "regions": [],
        "buts": [],
    }
    typed.update(changes)
    return {"nodes": [[(0, -2, -1, -1, 0, typed, fallback, None)]]}


RULE_0 = 0 << 3 | 1


def test_a_valid_typed_layout_walks(walk_module: Any) -> None:
    python: list[Any] = []
    layout = _typed(
        prefixes=[("pre", RULE_0)],
        folded=[("abc", RULE_0)],
        cidr=[("\x18\x0a\x01\x02\x00", RULE_0)],  # 10.1.2.0/24
        ipv6=True,
        bounds=[1.0, 5.0],
        regions=[0, 0, RULE_0, 0, 0],  # only the range (1, 5)
        specials=[RULE_0, 0, 0],  # true
        buts=[(1 << 3 | 1, [("x", 1 << 3 | 5)], [], [], [6.0], [("yz", 1 << 3 | 5)])],  # "s": but x, 6, yz
        fallback=lambda value, hits: python.append(value),
    )
    program = walk_module.Program(**_layout(names=("r", "s"), **layout))
    for value, expected in [
        ("a", {"r", "s"}),
        ("prefix", {"r", "s"}),
        ("ABC", {"r", "s"}),
        ("aBc", {"r", "s"}),
        ("abcd", {"s"}),
        ("10.1.2.77", {"r", "s"}),
        ("10.1.3.77", {"s"}),
        ("x", set()),
        ("X", {"s"}),
        ("YZ", set()),
        (6, set()),
        (6.0, set()),
        (3, {"r", "s"}),
        (1, {"s"}),
        (5.0, {"s"}),
        (True, {"r", "s"}),
        (False, {"s"}),  # (a boolean is neither "x" nor 6)
        (None, {"s"}),
    ]:
        result: set[str] = set()
        program.walk([value], result)
        assert result == expected, value
    assert python == []
    for value in ("\u00c4bc", "::1", 2**60 + 1):  # (the fallback records them and finds nothing)
        result = set()
        program.walk([value], result)
        assert result == set()
    assert python == ["\u00c4bc", "::1", 2**60 + 1]
    assert program.python_edges == 0


@pytest.mark.parametrize(
    "changes",
    [
        _typed(buts=None),
        {"nodes": [[(0, -2, -1, -1, 0, (0, 0, [], [], [], [], [], [], []), None, None)]]},  # not a dict
        {"nodes": [[(0, -2, -1, -1, 0, {"exact": []}, None, None)]]},  # lacking the rest
        {"nodes": [[(0, -3, -1, -1, 0, None, None, None)]]},  # no such edge kind
        _typed(any_value=1 << 3 | 3),  # any value leads to node 1 of 1
        _typed(specials=[0, 0]),
        _typed(specials=[0, 0, 1 << 3 | 3]),
        _typed(exact=[("a", 1 << 3 | 3)]),
        _typed(exact=[("a", 3 << 3 | 5)]),  # a length as a step
        _typed(prefixes=[("a", 6)]),  # a tails code outside wildcard heads
        _typed(folded=[("a", 9 << 3 | 1)], fallback=print),
        _typed(heads=[("a", [("b", 9 << 3 | 1)])]),  # a tail ends rule 9 of 1
        _typed(heads=[("a", None)]),
        _typed(cidr=[("\x21\x0a\x01\x02\x00", RULE_0)]),  # mask length 33
        _typed(cidr=[("10.1.2.0/24", RULE_0)]),  # not the 5-character key
        _typed(bounds=[1.0], regions=[0, RULE_0, 0]),  # numbers without the fallback
        _typed(folded=[("a", RULE_0)]),  # case folding without the fallback
        _typed(ipv6=True),  # IPv6 blocks without the fallback
        _typed(bounds=[5.0, 1.0], regions=[0, 0, 0, 0, 0], fallback=print),  # bounds descending
        _typed(bounds=[1.0, float("nan")], regions=[0, 0, 0, 0, 0], fallback=print),
        _typed(bounds=[1], regions=[0, 0, 0], fallback=print),  # an int bound
        _typed(bounds=[1.0], regions=[0, 0], fallback=print),  # two regions for one bound
        _typed(bounds=[1.0], regions=[0, 1 << 3 | 3, 0], fallback=print),
        _typed(buts=[(0, [], [], [], [], [])]),  # an anything-but leading nowhere
        _typed(buts=[(RULE_0, [], [], [], [2], [])], fallback=print),  # an int exclusion
        _typed(buts=[(RULE_0, [], [], [], [2.0], [])]),  # numbers without the fallback
        _typed(buts=[(RULE_0, [], [], [], [], [("a", RULE_0)])]),  # folding without the fallback
        _typed(buts=[(RULE_0, [], [])]),
        _typed(fallback=3),  # a fallback that is not callable
    ],
)
def test_malformed_typed_layouts_are_refused(walk_module: Any, changes: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError, OverflowError)):
        walk_module.Program(**_layout(**changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"root": 1},
        {"root": -1},
        {"width": 0},
        {"tables": [[("a", 9 << 3 | 1)]]},  # rule 9 of 1
        {"tables": [[("a", 1 << 3 | 3)]]},  # node 1 of 1
        {"tables": [[("a", 0 << 3 | 4)]]},  # fork 0 of none
        {"tables": [[("a", 3 << 3 | 5)]]},  # a length outside a links table
        {"tables": [[("a", 7)]]},  # unknown tag
        {"tables": [[("a", 0)]]},  # leads nowhere
        {"tables": [[("a", 1), ("a", 1)]]},  # a key twice
        {"tables": [[(1, 1)]]},  # not a string
        {"tables": [["a"]]},
        {"groups": [(5,)], "tables": [[("a", 0 << 3 | 2)]]},
        {"forks": [(0, (4,), 1 << 62)]},
        {"forks": [(0, (0,), 0)]},
        {"forks": [(3, (0,), 5)]},
        {"nodes": [[(5, 0, 0, -1, 0, None, None, None)]]},  # path 5 of 1
        {"nodes": [[(0, 0, 4, -1, 0, None, None, None)]]},  # table 4 of 1
        {"nodes": [[(0, 2, 0, -1, 0, None, None, None)]]},  # prefixes without a links table
        {"nodes": [[(0, -1, -1, -1, 0, None, None, None)]]},  # an `other` edge without its index
        {"nodes": [[(0, 0, 0, -1, 1 << 3 | 3, None, None, None)]]},  # MISSING leads to node 1 of 1
        {"nodes": [[(0, 0, 0)]]},
        {"links_flags": []},
    ],
)
def test_malformed_layouts_are_refused(walk_module: Any, changes: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError, OverflowError)):
        walk_module.Program(**_layout(**changes))


def test_walk_checks_its_arguments(walk_module: Any) -> None:
    program = walk_module.Program(**_layout())
    with pytest.raises(ValueError, match="fewer values"):
        program.walk([], set())
    with pytest.raises(TypeError):
        program.walk(("a",), set())
    with pytest.raises(TypeError):
        program.walk(["a"], [])
