"""Invalid patterns are refused with a PatternError that says what is wrong and where."""

from __future__ import annotations

from typing import Any

import pytest

from ccbridge.rules import PatternError, RuleSet, compile_pattern, matches

INVALID: list[tuple[str, Any, str]] = [
    ("not an object", ["a"], "a pattern must be a JSON object, got array"),
    (
        "leaf not an array",
        {"data": {"channel": "voice"}},
        "data.channel: a leaf must be an array of values, got string",
    ),
    ("empty array", {"a": []}, "a: empty array: a leaf needs at least one value"),
    ("empty nested object", {"data": {}}, "data: empty object: a nested pattern needs fields"),
    ("unknown operator", {"data": {"channel": [{"prefx": "v"}]}}, 'data.channel: unknown operator "prefx"'),
    ("two operators in one object", {"a": [{"prefix": "a", "suffix": "b"}]}, "exactly one key, got 2"),
    ("empty operator object", {"a": [{}]}, "exactly one key, got 0"),
    ("nested array", {"a": [["x"]]}, "a: nested arrays are not allowed in a leaf"),
    ("non-finite number", {"a": [float("nan")]}, "a: numbers must be finite"),
    (
        "numeric with a string",
        {"d": [{"numeric": [">", "5"]}]},
        'd: numeric with a string: ">" needs a number',
    ),
    ("numeric with a boolean", {"d": [{"numeric": [">", True]}]}, "numeric with a boolean"),
    ("numeric unknown comparison", {"d": [{"numeric": ["!=", 5]}]}, "numeric: unknown comparison '!='"),
    (
        "numeric odd length",
        {"d": [{"numeric": [">", 1, "<"]}]},
        "numeric takes one comparison or a range of two",
    ),
    ("numeric not an array", {"d": [{"numeric": 5}]}, "numeric needs an array"),
    ("numeric two lower bounds", {"d": [{"numeric": [">", 1, ">=", 2]}]}, "one lower (>, >=) and one upper"),
    ("numeric equals in a range", {"d": [{"numeric": ["=", 1, "<", 2]}]}, "one lower (>, >=) and one upper"),
    ("numeric empty range", {"d": [{"numeric": [">", 5, "<", 5]}]}, "d: Bottom must be less than top"),
    ("numeric inverted range", {"d": [{"numeric": [">", 9, "<", 1]}]}, "d: Bottom must be less than top"),
    ("numeric one-point range", {"d": [{"numeric": [">=", 1, "<=", 1]}]}, "d: Bottom must be less than top"),
    ("prefix with a number", {"a": [{"prefix": 1}]}, "a: prefix needs a string, got number"),
    (
        "prefix with a bad object",
        {"a": [{"prefix": {"x": "y"}}]},
        'prefix takes a string or {"equals-ignore-case"',
    ),
    ("suffix ignore-case with a number", {"a": [{"suffix": {"equals-ignore-case": 1}}]}, "needs a string"),
    ("equals-ignore-case with null", {"a": [{"equals-ignore-case": None}]}, "needs a string, got null"),
    ("wildcard consecutive stars", {"a": [{"wildcard": "a**b"}]}, "a: wildcard with consecutive '*'"),
    ("wildcard bad escape", {"a": [{"wildcard": "a\\b"}]}, "wildcard: invalid escape"),
    ("wildcard trailing backslash", {"a": [{"wildcard": "a\\"}]}, "wildcard: invalid escape"),
    ("anything-but mixed list", {"a": [{"anything-but": ["x", 1]}]}, "only strings or only numbers"),
    ("anything-but boolean", {"a": [{"anything-but": True}]}, "only strings or only numbers"),
    ("anything-but null", {"a": [{"anything-but": None}]}, "only strings or only numbers"),
    ("anything-but empty list", {"a": [{"anything-but": []}]}, "anything-but: empty array"),
    (
        "anything-but unknown inner",
        {"a": [{"anything-but": {"numeric": [">", 1]}}]},
        "anything-but object takes",
    ),
    (
        "anything-but inner empty list",
        {"a": [{"anything-but": {"prefix": []}}]},
        "anything-but prefix: empty",
    ),
    (
        "anything-but inner non-string",
        {"a": [{"anything-but": {"suffix": [1]}}]},
        "needs a string, got number",
    ),
    ("exists with a string", {"a": [{"exists": "true"}]}, "a: exists needs true or false, got string"),
    ("cidr mask too long", {"a": [{"cidr": "10.0.0.0/33"}]}, "a: IPv4 mask bits must be < 32"),
    ("cidr without a mask", {"a": [{"cidr": "10.0.0.7"}]}, "a: Malformed CIDR, one '/' required"),
    ("cidr with two masks", {"a": [{"cidr": "10.0.0.0/8/8"}]}, "a: Malformed CIDR, one '/' required"),
    ("cidr empty mask", {"a": [{"cidr": "10.0.0.0/"}]}, "a: Malformed CIDR, one '/' required"),
    ("cidr /32", {"a": [{"cidr": "10.0.0.7/32"}]}, "a: IPv4 mask bits must be < 32"),
    ("cidr /128", {"a": [{"cidr": "2001:db8::1/128"}]}, "a: IPv6 mask bits must be < 128"),
    (
        "cidr mask not a number",
        {"a": [{"cidr": "10.0.0.0/x"}]},
        "Malformed CIDR, mask bits must be an integer",
    ),
    (
        "cidr negative mask",
        {"a": [{"cidr": "10.0.0.0/-1"}]},
        "Malformed CIDR, mask bits must not be negative",
    ),
    ("cidr not an address", {"a": [{"cidr": "10.0.0.300/8"}]}, "a: Nonstandard IP address: 10.0.0.300"),
    (
        "anything-but empty prefix",
        {"a": [{"anything-but": {"prefix": ""}}]},
        "a: Null prefix/suffix not allowed",
    ),
    (
        "anything-but empty suffix",
        {"a": [{"anything-but": {"suffix": ""}}]},
        "a: Null prefix/suffix not allowed",
    ),
    (
        "anything-but empty suffix in a list",
        {"a": [{"anything-but": {"suffix": ["x", ""]}}]},
        "a: Null prefix/suffix not allowed",
    ),
    ("cidr not a string", {"a": [{"cidr": 10}]}, "cidr needs a string"),
    (
        "wildcard too complex for AWS",
        {"resources": [{"wildcard": "*:*:*:*:*:event-bus/*"}]},
        "resources: Rule is too complex - try using fewer wildcard characters or fewer repeating "
        "character sequences after a wildcard character",
    ),
    (
        "wildcards of one field are measured together",
        {"d": {"$or": [{"x": [{"wildcard": "*a*a*"}]}, {"x": [{"wildcard": "*a*b*"}], "y": ["1"]}]}},
        "d.x: Rule is too complex",
    ),
    (
        "anything-but wildcards count too",
        {"a": [{"anything-but": {"wildcard": ["*ab*ab*ab*"]}}]},
        "a: Rule is too complex",
    ),
    ("$or not an array", {"$or": {"a": ["x"]}}, "$or: $or must be an array of patterns, got object"),
    ("$or empty", {"$or": []}, "$or: empty array"),
    (
        "$or with an empty alternative",
        {"$or": [{"a": ["x"]}, {}]},
        "$or[1]: $or alternatives must be non-empty",
    ),
    ("error inside $or", {"d": {"$or": [{"a": ["x"]}, {"b": "y"}]}}, "d.$or[1].b: a leaf must be an array"),
    ("odd key quoted in the path", {"a b": {"c": 5}}, "['a b'].c: a leaf must be an array"),
    ("unsupported value", {"a": [{1, 2}]}, "unsupported value of type set"),
]


@pytest.mark.parametrize(("pattern", "message"), [pytest.param(p, m, id=n) for n, p, m in INVALID])
def test_invalid_pattern_message(pattern: Any, message: str) -> None:
    """An invalid pattern raises PatternError (a ValueError) whose message says what and where."""
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert isinstance(caught.value, ValueError)
    assert message in str(caught.value)


def test_error_exposes_path_and_reason() -> None:
    """PatternError carries the location and the reason separately for API problem details."""
    with pytest.raises(PatternError) as caught:
        compile_pattern({"data": {"channel": [{"prefx": "v"}]}})
    assert caught.value.path == "data.channel"
    assert caught.value.reason == 'unknown operator "prefx"'
    assert str(caught.value) == 'data.channel: unknown operator "prefx"'


def test_or_explosion_is_refused() -> None:
    """A pattern whose $or groups multiply out past the limit is refused as too complex."""
    groups = {f"k{i}": {"$or": [{"a": [1]}, {"b": [2]}, {"c": [3]}]} for i in range(8)}
    with pytest.raises(PatternError, match="too complex"):
        compile_pattern(groups)


def test_matches_validates() -> None:
    """The one-call `matches` validates its pattern too, rather than answering false."""
    with pytest.raises(PatternError, match="empty array"):
        matches({"a": []}, {"a": 1})


def test_matches_rejects_non_json_pattern() -> None:
    """A pattern that cannot be JSON (a non-string key) is a PatternError, not a TypeError."""
    with pytest.raises(PatternError, match="must be JSON"):
        matches({1: ["x"], "b": ["y"]}, {"a": 1})  # type: ignore[dict-item]


def test_ruleset_names_the_rule() -> None:
    """A RuleSet refuses an invalid pattern and names the rule id in the message."""
    with pytest.raises(PatternError) as caught:
        RuleSet({"ok": {"a": ["x"]}, "sub-7": {"a": [{"numeric": [">", "x"]}]}})
    assert caught.value.path == "a"
    assert "(rule 'sub-7')" in caught.value.reason


def test_event_must_be_an_object() -> None:
    """Matching a non-object event is a caller bug and raises TypeError."""
    with pytest.raises(TypeError, match="an event must be a JSON object"):
        compile_pattern({"a": ["x"]}).matches(["x"])  # type: ignore[arg-type]


def test_deep_pattern_is_refused() -> None:
    """A pattern nested past the depth limit is a PatternError, not a RecursionError."""
    pattern: dict[str, Any] = {"a": ["x"]}
    for _ in range(100):
        pattern = {"k": pattern}
    with pytest.raises(PatternError, match="nested deeper than 64 levels"):
        compile_pattern(pattern)


def test_deeply_nested_event_arrays_are_flattened() -> None:
    """Arrays thousands of levels deep in an event are flattened without exhausting the stack."""
    value: Any = {"b": 1}
    for _ in range(5000):
        value = [value]
    assert matches({"a": {"b": [1]}}, {"a": value})
