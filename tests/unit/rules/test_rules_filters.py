"""CXone `filters` triples (seed 001) compile into patterns with the documented meaning."""

from __future__ import annotations

from typing import Any

import pytest

from ccbridge.rules import (
    PatternError,
    compile_pattern,
    filter_to_pattern,
    filters_to_pattern,
    reference_matches,
)


def doc(**data: Any) -> dict[str, Any]:
    """A document as `Event.document()` builds it, with `data` as given."""
    return {
        "id": "e1",
        "event": "contact.created",
        "source": "cxone",
        "time": "t",
        "data": data,
        "metadata": {},
    }


def check(filters: list[dict[str, Any]], event: dict[str, Any]) -> bool:
    pattern = filters_to_pattern(filters)
    result = reference_matches(pattern, event)
    assert compile_pattern(pattern).matches(event) is result
    return result


def f(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "operator": operator, "value": value}


def test_seed_001_example() -> None:
    """The seed's own filter (contact.channelType eq voice) is relative to data."""
    pattern = filters_to_pattern([f("contact.channelType", "eq", "voice")])
    assert pattern == {"data": {"contact": {"channelType": ["voice"]}}}
    assert check([f("contact.channelType", "eq", "voice")], doc(contact={"channelType": "voice"}))
    assert not check([f("contact.channelType", "eq", "voice")], doc(contact={"channelType": "chat"}))


CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any], bool]] = [
    ("eq numeric string matches a number", [f("duration", "eq", "120")], doc(duration=120), True),
    ("eq numeric string matches the string", [f("duration", "eq", "120")], doc(duration="120"), True),
    ("eq JSON number", [f("duration", "eq", 120)], doc(duration=120.0), True),
    ("eq 'true' matches true", [f("vip", "eq", "true")], doc(vip=True), True),
    ("ne another value", [f("channel", "ne", "voice")], doc(channel="chat"), True),
    ("ne the same value", [f("channel", "ne", "voice")], doc(channel="voice"), False),
    ("ne on a missing field is false", [f("channel", "ne", "voice")], doc(), False),
    ("ne numeric string excludes the number", [f("code", "ne", "7")], doc(code=7), False),
    ("ne numeric string excludes the string", [f("code", "ne", "7")], doc(code="7"), False),
    ("ne 'null' excludes null", [f("x", "ne", "null")], doc(x=None), False),
    ("ne 'null' keeps a string", [f("x", "ne", "null")], doc(x="a"), True),
    ("gt numeric string", [f("duration", "gt", "120")], doc(duration=121), True),
    ("gt is strict", [f("duration", "gt", 120)], doc(duration=120), False),
    ("gte", [f("duration", "gte", 120)], doc(duration=120), True),
    ("lt", [f("duration", "lt", 1.5)], doc(duration=1), True),
    ("lte", [f("duration", "lte", "-3")], doc(duration=-3.0), True),
    ("gt ignores numeric strings in the event", [f("duration", "gt", 1)], doc(duration="5"), False),
    ("in a list", [f("channel", "in", ["voice", "chat"])], doc(channel="chat"), True),
    ("in a comma-separated string", [f("channel", "in", "voice, chat")], doc(channel="chat"), True),
    ("in not listed", [f("channel", "in", ["voice", "chat"])], doc(channel="sms"), False),
    ("contains a substring", [f("wrapup", "contains", "Sale")], doc(wrapup="Upsale-Sale-1"), True),
    ("contains is case-sensitive", [f("wrapup", "contains", "sale")], doc(wrapup="Sale"), False),
    ("contains escapes stars", [f("w", "contains", "a*b")], doc(w="xa*by"), True),
    ("contains escaped star is literal", [f("w", "contains", "a*b")], doc(w="xaZby"), False),
    ("contains on an array element", [f("tags", "contains", "vip")], doc(tags=["new", "vip"]), True),
    ("contains substring of an element", [f("tags", "contains", "vi")], doc(tags=["new", "vip"]), True),
    ("contains a number in an array", [f("codes", "contains", 5)], doc(codes=[1, 5]), True),
    ("contains numeric string in an array", [f("codes", "contains", "5")], doc(codes=[1, 5]), True),
    ("prefix", [f("queue", "prefix", "q-eu")], doc(queue="q-eu-1"), True),
    ("suffix", [f("queue", "suffix", "-1")], doc(queue="q-eu-2"), False),
    ("exists", [f("agent.id", "exists", "true")], doc(agent={"id": None}), True),
    ("exists empty value means true", [f("agent.id", "exists", "")], doc(agent={}), False),
    ("exists false", [f("agent.id", "exists", False)], doc(agent={}), True),
    (
        "two triples on one field AND together",
        [f("duration", "gt", 60), f("duration", "lt", 300)],
        doc(duration=301),
        False,
    ),
    (
        "two triples on one field both hold",
        [f("duration", "gt", 60), f("duration", "lt", 300)],
        doc(duration=200),
        True,
    ),
    (
        "triples on different fields AND together",
        [f("contact.channelType", "eq", "voice"), f("duration", "gt", 120)],
        doc(contact={"channelType": "voice"}, duration=100),
        False,
    ),
    ("no filters match everything", [], doc(), True),
]


@pytest.mark.parametrize(
    ("filters", "event", "expected"), [pytest.param(a, b, c, id=n) for n, a, b, c in CASES]
)
def test_filter_operators(filters: list[dict[str, Any]], event: dict[str, Any], expected: bool) -> None:
    """Each CXone operator means what the forms module documents."""
    assert check(filters, event) is expected


ERRORS: list[tuple[Any, str]] = [
    ([f("duration", "gt", "abc")], "filters[0].value: gt needs a number, got string"),
    ([f("a", "eq", "x"), f("a", "eq", "y"), f("d", "lte", True)], "filters[2].value: lte needs a number"),
    ([f("a", "equals", "x")], 'filters[0].operator: unknown operator "equals"'),
    ([{"field": "a", "value": "x"}], 'filters[0].operator: unknown operator "None"'),
    ([f("", "eq", "x")], "filters[0].field: field needs a non-empty dotted path"),
    ([f("a..b", "eq", "x")], "filters[0].field: empty segment in field 'a..b'"),
    ([f("a", "eq", ["x"])], "filters[0].value: eq needs a single value, got array"),
    ([f("a", "in", [])], "filters[0].value: in needs a non-empty list"),
    ([f("a", "prefix", 5)], "filters[0].value: prefix needs a string, got number"),
    ([f("a", "exists", "maybe")], "filters[0].value: exists needs true or false"),
    ([f("a", "contains", {"x": 1})], "filters[0].value: contains needs a single value, got object"),
    (["a"], "filters[0]: must be an object"),
    ({"field": "a"}, "filters: must be an array"),
]


@pytest.mark.parametrize(("filters", "message"), ERRORS)
def test_filter_errors(filters: Any, message: str) -> None:
    """A bad triple is refused with a message naming the triple index and the field at fault."""
    with pytest.raises(PatternError) as caught:
        filters_to_pattern(filters)
    assert message in str(caught.value)


def test_operator_names_are_case_insensitive() -> None:
    """`EQ` reads as `eq`, since clients of the seed spell operators either way."""
    assert filters_to_pattern([f("a", "EQ", "x")]) == {"data": {"a": ["x"]}}


def test_dispatcher() -> None:
    """filter_to_pattern hands each kind to its compiler and validates plain patterns."""
    assert filter_to_pattern("pattern", {"a": ["x"]}) == {"a": ["x"]}
    assert filter_to_pattern("filters", [f("a", "eq", "x")]) == {"data": {"a": ["x"]}}
    assert filter_to_pattern("expression", "data.a == 'x'") == {"data": {"a": ["x"]}}
    with pytest.raises(PatternError):
        filter_to_pattern("pattern", {"a": "x"})
    with pytest.raises(PatternError, match="unknown filter kind"):
        filter_to_pattern("jq", ".a")  # type: ignore[arg-type]
