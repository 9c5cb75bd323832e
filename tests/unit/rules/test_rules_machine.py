"""The automaton's fast structures: each must answer exactly like the reference evaluator.

`test_rules_properties.py` checks random patterns; the rule sets here are shaped to exercise what
small random sets rarely reach: conditions shared by enough rules to get a state of their own
(hoisting), nested prefixes (probe chains that stop early), the compact transitions, arrays (the
general walk), reading an event's values, `head*tail` wildcards and the IPv4 reader.
"""

from __future__ import annotations

import ipaddress
import json
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_support import assert_agrees

from ccbridge.core.rules import addresses, automaton, machine
from ccbridge.core.rules.addresses import parse_ip
from ccbridge.core.rules.automaton import Fork, Node
from ccbridge.core.rules.extract import MISSING, Many, flatten, key_trie
from ccbridge.core.rules.order import Condition, Order, _nesting
from ccbridge.rules import RuleSet, compile_pattern, reference_matches

PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- many rules over a small vocabulary: shared states, prefix chains, mixed operators ---

TYPES = ["order.created", "order.paid", "refund"]
WORDS = ["", "a", "ab", "abc", "abd", "abcd", "b", "ba", "q-eu-1", "q-eu-12", "q-apac-1", "A"]
NUMBERS: list[Any] = [0, 1, 300, 300.0, 2.5, -1]
SCALARS = st.sampled_from([*WORDS, *NUMBERS, True, False, None])

HASHED = st.one_of(
    st.sampled_from(WORDS),
    st.builds(lambda s: {"prefix": s}, st.sampled_from(WORDS)),
)
MIXED = st.one_of(
    HASHED,
    SCALARS,
    st.builds(lambda s: {"suffix": s}, st.sampled_from(WORDS)),
    st.builds(lambda s: {"equals-ignore-case": s}, st.sampled_from(WORDS)),
    st.builds(lambda s: {"anything-but": s}, st.sampled_from(["a", "ab", 300])),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.builds(lambda n: {"numeric": [">=", n]}, st.sampled_from([0, 1, 300])),
    st.builds(lambda s: {"wildcard": s}, st.sampled_from(["a*", "a*d", "*b", "q-*-1"])),
)


def _leaf(items: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(items, min_size=1, max_size=3)


@st.composite
def rule(draw: st.DrawFn) -> dict[str, Any]:
    """A type (shared by many rules, so it may be hoisted), a selective key, maybe more fields."""
    pattern: dict[str, Any] = {}
    kind = draw(st.sampled_from(["exact", "exact", "prefix", "none"]))
    if kind == "exact":
        pattern["type"] = [draw(st.sampled_from(TYPES))]
    elif kind == "prefix":
        pattern["type"] = [{"prefix": draw(st.sampled_from(["order", "ref", "o"]))}]
    data: dict[str, Any] = {"key": draw(_leaf(HASHED))}
    if draw(st.booleans()):
        data["tags"] = draw(_leaf(HASHED))
    if draw(st.booleans()):
        data["other"] = draw(_leaf(MIXED))
    pattern["data"] = data
    if draw(st.integers(0, 4)) == 0:
        pattern["$or"] = [{"data": {"alt": draw(_leaf(MIXED))}}, {"type": draw(_leaf(HASHED))}]
    return pattern


FIELD = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.just({"nested": "object"}))


@st.composite
def event(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if draw(st.integers(0, 5)):
        doc["type"] = draw(st.sampled_from([*TYPES, "orders", "r", 300]))
    data = draw(st.dictionaries(st.sampled_from(["key", "tags", "other", "alt"]), FIELD, max_size=4))
    doc["data"] = data if draw(st.integers(0, 5)) else [data, {"key": draw(SCALARS)}]
    return doc


@settings(PROFILE, max_examples=100)  # each example checks up to 800 (rule, event) pairs
@given(st.lists(rule(), min_size=20, max_size=80), st.lists(event(), min_size=1, max_size=10))
def test_many_shared_rules_agree_with_reference(
    rules: list[dict[str, Any]], docs: list[dict[str, Any]]
) -> None:
    """Rule sets large enough to hoist shared conditions, mixing fast and other operators."""
    assert_agrees({f"r{i}": p for i, p in enumerate(rules)}, docs)


@PROFILE
@given(
    st.lists(st.text(alphabet="ab-", max_size=5), min_size=1, max_size=30),
    st.lists(st.text(alphabet="ab-", max_size=7) | SCALARS, min_size=1, max_size=10),
)
def test_prefix_chains_find_every_prefix(prefixes: list[str], values: list[Any]) -> None:
    """However prefixes nest, a value matches exactly the prefixes it starts with."""
    assert_agrees(
        {f"p{i}": {"k": [{"prefix": p}]} for i, p in enumerate(prefixes)}, [{"k": v} for v in values]
    )


def test_prefix_chain_examples() -> None:
    """Cuts of longer prefixes lead on; a value shorter than every prefix probes nothing."""
    rules = {p: {"k": [{"prefix": p}]} for p in ["q-eu-12", "q-apac-12", "q-latam-12", "ab", "abx", "abcd"]}
    ruleset = RuleSet(rules)
    assert ruleset.matching({"k": "q-apac-123"}) == {"q-apac-12"}
    assert ruleset.matching({"k": "q-latam-129"}) == {"q-latam-12"}
    assert ruleset.matching({"k": "abcde"}) == {"ab", "abcd"}
    assert ruleset.matching({"k": "abxy"}) == {"ab", "abx"}
    assert ruleset.matching({"k": "abc"}) == {"ab"}
    assert ruleset.matching({"k": "a"}) == set()


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"type": "t", "n": 300}, {"int", "float", "exists"}),
        ({"type": "t", "n": 300.0}, {"int", "float", "exists"}),
        ({"type": "t", "n": "300"}, {"string", "exists"}),
        ({"type": "t", "n": None}, {"null", "exists"}),
        ({"type": "t", "n": True}, {"true", "exists"}),
        ({"type": "t", "n": 1}, {"exists"}),
        ({"type": "t"}, {"missing"}),
        ({"type": "t", "n": {"x": 1}}, {"missing"}),
        ({"type": "t", "n": []}, {"missing"}),
        ({"type": "t", "n": [300, None]}, {"int", "float", "null", "exists"}),
        ({"type": "u", "n": 300}, set()),
    ],
)
def test_typed_values_behind_a_shared_state(event: dict[str, Any], expected: set[str]) -> None:
    """Numbers, null, booleans and missing fields keep their meaning behind a hoisted condition."""
    rules: dict[str, dict[str, Any]] = {
        "int": {"type": ["t"], "n": [300]},
        "float": {"type": ["t"], "n": [300.0]},
        "string": {"type": ["t"], "n": ["300"]},
        "null": {"type": ["t"], "n": [None]},
        "true": {"type": ["t"], "n": [True]},
        "missing": {"type": ["t"], "n": [{"exists": False}]},
        "exists": {"type": ["t"], "n": [{"exists": True}]},
    }
    rules.update({f"filler{i}": {"type": ["t"], "k": [f"v{i}"]} for i in range(10)})
    assert RuleSet(rules).matching(event) == expected
    for rule_id, pattern in rules.items():
        assert compile_pattern(pattern).matches(event) is (rule_id in expected)


def test_or_branches_and_arrays_report_a_rule_once() -> None:
    """A rule matched by several branches and array values is one id in the answer."""
    rules: dict[str, Any] = {f"r{i}": {"type": ["t"], "k": [f"v{i}"]} for i in range(20)}
    rules["both"] = {"type": ["t"], "$or": [{"k": ["v1"]}, {"k": [{"prefix": "v"}]}, {"j": ["x"]}]}
    assert RuleSet(rules).matching({"type": "t", "k": ["v1", "v2", "v1"], "j": "x"}) == {"r1", "r2", "both"}


def test_arrays_at_every_level_do_not_multiply_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """With `["a", "b"]` both in every leaf and in every field, each state is still walked once."""
    depth = 20
    pattern = {f"f{i}": ["a", "b"] for i in range(depth)}
    ruleset = RuleSet({"deep": pattern, "other": {"f0": ["c"]}})
    document = {f"f{i}": ["a", "b"] for i in range(depth)}
    taken: list[object] = []
    take = machine._take
    monkeypatch.setattr(
        machine, "_take", lambda step, result, going: taken.append(step) or take(step, result, going)
    )
    assert ruleset.matching(document) == {"deep"}
    assert len(taken) <= 2 * depth  # two values per state; a walk per path would take 2**20


# --- the compiled automaton: merged states, and the same answers without merging ---


def _root_step(ruleset: RuleSet, value: str) -> object:
    root = ruleset._machine._root  # the structure is what these tests are about
    ((_, exact, _, _),) = root
    return exact[value]


def test_states_one_value_reaches_together_are_merged() -> None:
    """An event type named exactly by some rules and by prefix by others leads to one state, whose
    table for the next path holds both groups' values; the exact entry needs no prefix probe."""
    rules = {f"e{i}": {"type": ["order.paid"], "k": [f"v{i}"]} for i in range(100)}
    rules.update({f"p{i}": {"type": [{"prefix": "order"}], "k": [f"w{i}"]} for i in range(100)})
    ruleset = RuleSet(rules)
    merged = _root_step(ruleset, "order.paid")
    assert type(merged) is Node
    ((_, exact, _, _),) = merged
    assert {"v3", "w3"} <= set(exact)
    assert ruleset.matching({"type": "order.paid", "k": "w3"}) == {"p3"}
    assert ruleset.matching({"type": "order.new", "k": "w3"}) == {"p3"}
    assert ruleset.matching({"type": "order.new", "k": "v3"}) == set()


def test_without_a_merge_budget_states_stay_side_by_side(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the budget a value reaches its states unmerged (a `Fork`), with the same answers."""
    monkeypatch.setattr(automaton, "MERGE_SLACK", -(10**9))
    rules = {f"e{i}": {"type": ["order.paid"], "k": [f"v{i}"]} for i in range(100)}
    rules.update({f"p{i}": {"type": [{"prefix": "order"}], "k": [f"w{i}"]} for i in range(100)})
    ruleset = RuleSet(rules)
    fork = _root_step(ruleset, "order.paid")
    assert isinstance(fork, Fork)
    assert len(fork.nodes) == 2
    assert ruleset.matching({"type": "order.paid", "k": "w3"}) == {"p3"}
    assert ruleset.matching({"type": "order.paid", "k": "v3"}) == {"e3"}


@settings(PROFILE, max_examples=60)
@given(
    st.lists(rule(), min_size=20, max_size=60),
    st.lists(event(), min_size=1, max_size=8),
    st.sampled_from([("MERGE_SLACK", -(10**9)), ("FOLD_LIMIT", -1)]),
)
def test_fallbacks_agree_with_reference(
    rules: list[dict[str, Any]], docs: list[dict[str, Any]], knob: tuple[str, int]
) -> None:
    """Past the merge budget, and with exact values kept apart from the prefixes they start with
    (as for values nested under hundreds of prefixes), the answers are the reference's too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(automaton, *knob)
        assert_agrees({f"r{i}": p for i, p in enumerate(rules)}, docs)


def test_exact_values_under_many_prefixes_keep_apart() -> None:
    """A value nested under more prefixes than `FOLD_LIMIT` allows is looked up, then probed."""
    rules = {f"p{i}": {"k": [{"prefix": "a" * i}]} for i in range(1, 40)}
    rules.update({f"e{j}": {"k": ["a" * 40 + str(j)]} for j in range(5)})
    ruleset = RuleSet(rules)
    assert len(ruleset._machine._root) == 2  # the exact edge and the prefix edge of one path
    assert ruleset.matching({"k": "a" * 40 + "3"}) == {"e3", *(f"p{i}" for i in range(1, 40))}
    assert ruleset.matching({"k": "aaa"}) == {"p1", "p2", "p3"}


class Channel(StrEnum):
    VOICE = "voice"
    CHAT = "chat"


def test_string_subclasses_in_patterns() -> None:
    """Patterns built in code may hold `StrEnum` members (exact values, prefixes, shared or not) and
    mean what their JSON says. (The reference takes JSON types only, so it is given the JSON.)"""
    rules: dict[str, dict[str, Any]] = {
        f"r{i}": {"type": ["t"], "k": [f"v{i}"], "c": [Channel.VOICE]} for i in range(20)
    }
    rules["prefix"] = {"type": [{"prefix": Channel.CHAT}], "k": ["v1"]}
    rules["exact"] = {"c": [Channel.CHAT]}
    docs = [{"type": "t", "k": "v1", "c": "voice"}, {"type": "chatty", "k": "v1", "c": "chat"}]
    as_json = json.loads(json.dumps(rules))
    ruleset = RuleSet(rules)
    for doc in docs:
        expected = {rule_id for rule_id, p in as_json.items() if reference_matches(p, doc)}
        assert ruleset.matching(doc) == expected
    assert ruleset.matching(docs[0]) == {"r1"}
    assert ruleset.matching(docs[1]) == {"prefix", "exact"}


# --- the order of conditions ---


def _conjunctions(patterns: list[dict[str, Any]]) -> list[tuple[Condition, ...]]:
    return [alt for p in patterns for alt in compile_pattern(p).alternatives]


def test_shared_conditions_are_hoisted() -> None:
    """An event type hundreds of rules share gets its own state; a rare value or few rules do not."""
    patterns = [{"type": [f"t{i % 3}"], "skill": [f"s{i}"]} for i in range(300)]
    hoisted = Order(_conjunctions(patterns)).hoisted
    assert sorted(hoisted) == [(("type",), f"[='t{i}']") for i in range(3)]
    few = [{"type": ["t0"], "skill": [f"s{i}"]} for i in range(5)]
    assert Order(_conjunctions(few)).hoisted == set()


def test_overlapping_leaves_are_not_hoisted() -> None:
    """A path where one value satisfies several leaves (two of three channels each) stays last."""
    pairs = [["voice", "chat"], ["chat", "email"], ["voice", "email"]]
    patterns = [{"channel": pairs[i % 3], "skill": [f"s{i}"]} for i in range(300)]
    assert Order(_conjunctions(patterns)).hoisted == set()


@PROFILE
@given(st.sets(st.text(alphabet="ab", min_size=1, max_size=6), max_size=40))
def test_prefix_nesting_counts_every_shorter_prefix(prefixes: set[str]) -> None:
    """The chain-walking count equals the count from the definition."""
    nested = _nesting(prefixes)
    assert nested == {p: sum(1 for q in prefixes if len(q) < len(p) and p.startswith(q)) for p in prefixes}


# --- reading an event at the rules' paths ---

KEYS = st.sampled_from(["a", "b", "a.b", "'", '"', "\\", "\n", "é", "\ud800", "$or", ""])
PATHS = st.lists(st.lists(KEYS, min_size=1, max_size=4).map(tuple), min_size=1, max_size=12, unique=True)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


def _values_at(node: Any, path: tuple[str, ...]) -> list[Any]:
    """The scalars at `path`, from the definition: arrays are transparent at any depth, and objects
    are not values."""
    if isinstance(node, list):
        return [value for item in node for value in _values_at(item, path)]
    if not path:
        return [] if isinstance(node, dict) else [node]
    if isinstance(node, dict) and path[0] in node:
        return _values_at(node[path[0]], path[1:])
    return []


@PROFILE
@given(PATHS, st.dictionaries(KEYS, JSON, max_size=5))
def test_flatten_reads_every_value_at_every_path(paths: list[tuple[str, ...]], doc: dict[str, Any]) -> None:
    """Each path's slot holds its one scalar, `Many` of its several, or `MISSING`; the flag says
    whether some path got several. (In any order: matching treats a path's values as a set.)"""
    out: list[Any] = [MISSING] * len(paths)
    several = flatten(key_trie((path, pid) for pid, path in enumerate(paths)), doc, out)
    expected = [_values_at(doc, path) for path in paths]
    assert several is any(len(values) > 1 for values in expected)
    for got, values in zip(out, expected, strict=True):
        if not values:
            assert got is MISSING
        elif len(values) == 1:
            assert type(got) is not Many and got is values[0]
        else:
            assert type(got) is Many and sorted(map(repr, got)) == sorted(map(repr, values))


# --- head*tail wildcards and the IPv4 reader ---


@PROFILE
@given(
    st.lists(
        st.tuples(st.sampled_from(["ab", "a", "user1"]), st.sampled_from(["ba", "b", "", "@x.com"])).map(
            lambda ht: f"{ht[0]}*{ht[1]}"
        )
        | st.sampled_from(["ab*c*ba", "a*b*", "*b*a", "user1*@x*.com"]),
        min_size=1,
        max_size=20,
    ),
    st.lists(
        st.sampled_from(["aba", "abba", "ab", "aab", "user1@x.com", "user12@xy.com", "a", "ba", ""]),
        min_size=1,
    ),
)
def test_wildcards_sharing_heads_agree_with_reference(wildcards: list[str], values: list[str]) -> None:
    """Head and tail found by lookups, overlapping ends ruled out by length, middles by regex."""
    rules = {f"w{i}": {"k": [{"wildcard": w}]} for i, w in enumerate(wildcards)}
    assert_agrees(rules, [{"k": v} for v in values])


def _reference_ip(text: str) -> tuple[int, int] | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address)


TRICKY_ADDRESSES = [
    "0.0.0.0",
    "255.255.255.255",
    "10.0.0.1",
    "010.0.0.1",
    "1.2.3.04",
    "00.0.0.0",
    "256.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    "1..2.3",
    "1.2.3.",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1.2.3.4\n",
    "+1.2.3.4",
    "0x1.2.3.4",
    "1.2.3.-4",
    "١.2.3.4",
    "1.2.3.4\x00",
    "\ud800",
    "",
    "2001:db8::1",
    "::ffff:1.2.3.4",
    "1.2.3.4%eth0",
]


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("text", TRICKY_ADDRESSES)
def test_ip_reader_agrees_with_ipaddress(text: str, strict: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The C library reads IPv4, held to `ipaddress`'s rules by writing the address back unless it
    is known to be strict (`strict=True` is only honest where it is: the import-time probe says)."""
    if strict and not addresses._STRICT_PTON:
        pytest.skip("this C library's inet_pton is looser than ipaddress; the write-back is always used")
    monkeypatch.setattr(addresses, "_STRICT_PTON", strict)
    assert parse_ip(text) == _reference_ip(text)


@PROFILE
@given(
    st.lists(
        st.integers(0, 300).map(str) | st.sampled_from(["00", "01", "007", "", "x"]), min_size=3, max_size=5
    ).map(".".join)
    | st.text(alphabet="0123456789.:abx ", max_size=16)
)
def test_ip_reader_agrees_with_ipaddress_on_random_text(text: str) -> None:
    assert parse_ip(text) == _reference_ip(text)
