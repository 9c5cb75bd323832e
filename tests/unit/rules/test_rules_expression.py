"""Genesys filter expressions (seed 002) parse, compile into patterns, and keep their meaning."""

from __future__ import annotations

from typing import Any

import pytest

from ccbridge.rules import PatternError, compile_pattern, expression_to_pattern, reference_matches

SEED_002 = (
    "data.channel == 'voice' && data.duration > 120 && "
    "(data.wrapupcode.name == 'Sale' || data.wrapupcode.name == 'Upsell')"
)


def doc(**data: Any) -> dict[str, Any]:
    return {
        "id": "e1",
        "event": "routing:interaction:completed",
        "source": {"system": "genesys"},
        "time": "t",
        "data": data,
        "metadata": {"correlationId": "c"},
    }


def holds(expr: str, event: dict[str, Any]) -> bool:
    pattern = expression_to_pattern(expr)
    result = reference_matches(pattern, event)
    assert compile_pattern(pattern).matches(event) is result
    return result


def test_seed_002_compiles_to_a_readable_pattern() -> None:
    """The seed's expression becomes one flat pattern, its OR on one field folded into one leaf."""
    assert expression_to_pattern(SEED_002) == {
        "data": {
            "channel": ["voice"],
            "duration": [{"numeric": [">", 120]}],
            "wrapupcode": {"name": ["Sale", "Upsell"]},
        }
    }


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(doc(channel="voice", duration=300, wrapupcode={"name": "Sale"}), True, id="sale"),
        pytest.param(doc(channel="voice", duration=120.5, wrapupcode={"name": "Upsell"}), True, id="upsell"),
        pytest.param(doc(channel="voice", duration=120, wrapupcode={"name": "Sale"}), False, id="too-short"),
        pytest.param(doc(channel="chat", duration=300, wrapupcode={"name": "Sale"}), False, id="chat"),
        pytest.param(doc(channel="voice", duration=300, wrapupcode={"name": "Refund"}), False, id="refund"),
        pytest.param(doc(channel="voice", duration=300), False, id="no-wrapup"),
        pytest.param(
            doc(channel="voice", duration="300", wrapupcode={"name": "Sale"}), False, id="string-duration"
        ),
    ],
)
def test_seed_002_expression(event: dict[str, Any], expected: bool) -> None:
    """The seed's filter matches exactly its voice sales over two minutes, like its Go evaluator."""
    assert holds(SEED_002, event) is expected


CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("data.channel == 'voice'", doc(channel="voice"), True),
    ('data.channel == "voice"', doc(channel="voice"), True),
    ("event == 'routing:interaction:completed'", doc(), True),
    ("source.system == 'genesys'", doc(), True),
    ("data.n == 3", doc(n=3.0), True),
    ("data.n == -2.5e1", doc(n=-25), True),
    ("data.flag == true", doc(flag=True), True),
    ("data.flag == true", doc(flag=1), False),
    ("data.x == null", doc(x=None), True),
    ("data.x == null", doc(), False),
    ("data.x != 'a'", doc(x="b"), True),
    ("data.x != 'a'", doc(), False),
    ("data.x != null", doc(x=0), True),
    ("data.x != null", doc(x=None), False),
    ("data.x != null", doc(), False),
    ("data.x != true", doc(x=False), True),
    ("data.x != true", doc(x="true"), True),
    ("!(data.x == 'a')", doc(x="b"), True),
    ("!(data.x == 'a')", doc(), False),
    ("!(data.n > 5)", doc(n=5), True),
    ("!(data.n > 5)", doc(n=6), False),
    ("!(data.n > 5)", doc(), False),
    ("!(data.n > 5)", doc(n="x"), False),
    ("!!(data.n > 5)", doc(n=6), True),
    ("!(data.a == 1 && data.b == 2)", doc(a=1, b=3), True),
    ("!(data.a == 1 && data.b == 2)", doc(a=1, b=2), False),
    ("!(data.a == 1 || data.b == 2)", doc(a=0, b=0), True),
    ("!(data.a == 1 || data.b == 2)", doc(a=0, b=2), False),
    ("data.c in ['voice', 'chat']", doc(c="chat"), True),
    ("data.c in ['voice', 'chat']", doc(c="sms"), False),
    ("!(data.c in ['voice', 'chat'])", doc(c="sms"), True),
    ("!(data.c in ['voice', 'chat'])", doc(c="voice"), False),
    ("!(data.c in [true, null])", doc(c=False), True),
    ("120 < data.duration", doc(duration=121), True),
    ("120 < data.duration", doc(duration=120), False),
    ("'voice' == data.channel", doc(channel="voice"), True),
    ("data['wrap up'].name == 'Sale'", doc(**{"wrap up": {"name": "Sale"}}), True),
    ("data.s == 'it\\'s'", doc(s="it's"), True),
    ('data.s == "tab\\there\\u00e9"', doc(s="tab\there\u00e9"), True),
    ("data.a == 1 || data.b == 2 && data.c == 3", doc(a=1), True),
    ("(data.a == 1 || data.b == 2) && data.c == 3", doc(a=1), False),
    ("data.tags == 'vip'", doc(tags=["new", "vip"]), True),
    ("data.d > 1 && data.d < 3", doc(d=2), True),
    ("data.d > 1 && data.d < 3", doc(d=[0, 5]), True),
    ("(data.a == 1 || data.b == 1) && (data.c == 1 || data.d == 1)", doc(b=1, c=1), True),
    ("(data.a == 1 || data.b == 1) && (data.c == 1 || data.d == 1)", doc(b=1), False),
]


@pytest.mark.parametrize(("expr", "event", "expected"), [pytest.param(*c, id=c[0]) for c in CASES])
def test_expression_semantics(expr: str, event: dict[str, Any], expected: bool) -> None:
    """Comparisons, De Morgan negation and missing-field (SQL NULL-like) rules hold as documented."""
    assert holds(expr, event) is expected


ERRORS: list[tuple[str, str]] = [
    ("data.channel == 'voice' && )", "filter: unexpected ')' at column 28"),
    ("(data.a == 1", "filter: unexpected end of filter at column 13"),
    ("data.a == 1)", "filter: unexpected ')' at column 12"),
    ("data.a = 1", "filter: unexpected '=' at column 8"),
    ("data.a == 'x", "filter: unterminated string starting at column 11"),
    ("data.a == 'x\\q'", "filter: invalid escape '\\\\q' at column 13"),
    ("data.a > 'x'", "filter: '>' needs a number at column 8"),
    ("data.a == data.b", "filter: unexpected 'data' at column 11"),
    ("1 == 2", "filter: a comparison needs a field on one side, at column 1"),
    ("data.a in []", "filter: unexpected ']' at column 12"),
    ("data.a", "filter: unexpected end of filter at column 7"),
    ("", "filter: unexpected end of filter at column 1"),
    ("data.a == 1 # x", "filter: unexpected '#' at column 13"),
    ("!(data.a in ['x', 1])", "cannot negate a comparison against a mix"),
    ("data.$or == 1", "the field name '$or' is reserved"),
]


@pytest.mark.parametrize(("expr", "message"), ERRORS)
def test_expression_errors(expr: str, message: str) -> None:
    """A malformed expression is refused with a PatternError at path `filter` naming the column."""
    with pytest.raises(PatternError) as caught:
        expression_to_pattern(expr)
    assert caught.value.path == "filter"
    assert message in str(caught.value)


def test_no_evaluation_of_input() -> None:
    """The expression is parsed, never evaluated: Python syntax is just a parse error."""
    with pytest.raises(PatternError, match="unexpected"):
        expression_to_pattern("__import__('os').system('true') == 1")


def test_deep_nesting_is_refused() -> None:
    """Parentheses or `!` nested past the limit are a PatternError, not a RecursionError."""
    with pytest.raises(PatternError, match="nested deeper than 64 levels at column 65"):
        expression_to_pattern("(" * 100 + "data.a == 1" + ")" * 100)


def test_contains_compiles_to_an_escaped_wildcard() -> None:
    """Seed 002's "wrapupcode contains \"Sale\"" is one `wildcard` leaf, its `*` and `\\` escaped."""
    assert expression_to_pattern("data.wrapupcode.name contains 'Sale'") == {
        "data": {"wrapupcode": {"name": [{"wildcard": "*Sale*"}]}}
    }
    assert expression_to_pattern("x contains 'a*b\\\\c'") == {"x": [{"wildcard": "*a\\*b\\\\c*"}]}
    assert expression_to_pattern("!(x contains 'a')") == {"x": [{"anything-but": {"wildcard": "*a*"}}]}
    assert expression_to_pattern("x contains 7") == {"x": [7]}


@pytest.mark.parametrize(
    ("expr", "event", "expected"),
    [
        ("data.wrapupcode.name contains 'Sale'", doc(wrapupcode={"name": "Big Sale"}), True),
        ("data.wrapupcode.name contains 'Sale'", doc(wrapupcode={"name": "Upsell"}), False),
        ("data.wrapupcode.name contains 'Sale'", doc(wrapupcode={}), False),
        ("data.tags contains 'vip'", doc(tags=["new", "vip"]), True),
        ("data.tags contains 'vip'", doc(tags=["new"]), False),
        ("data.codes contains 3", doc(codes=[1, 3]), True),
        ("data.codes contains 3", doc(codes=[1, 2]), False),
        ("data.codes contains 3", doc(codes="3"), False),
        ("data.name contains 'a*b'", doc(name="xa*by"), True),
        ("data.name contains 'a*b'", doc(name="axxb"), False),
        ("!(data.name contains 'Sale')", doc(name="Upsell"), True),
        ("!(data.name contains 'Sale')", doc(name="Sale"), False),
        ("!(data.name contains 'Sale')", doc(), False),
        (
            "data.duration > 120 && data.wrapupcode.name contains 'Sale'",
            doc(duration=300, wrapupcode={"name": "Sale"}),
            True,
        ),
    ],
)
def test_contains_semantics(expr: str, event: dict[str, Any], expected: bool) -> None:
    assert holds(expr, event) is expected


@pytest.mark.parametrize(
    ("expr", "event", "expected"),
    [
        ("data.a > 5 && (data.a < 9 || data.b == 1)", doc(a=2, b=1), False),
        ("data.a > 5 && (data.a < 9 || data.b == 1)", doc(a=7), True),
        ("data.a > 5 && (data.a < 9 || data.b == 1)", doc(a=12, b=1), True),
        ("data.a > 5 && (data.a < 9 || data.b == 1)", doc(a=12, b=2), False),
        ("(data.a == 'x' || data.b == 1) && (data.a == 'y' || data.c == 2)", doc(a="x", c=2), True),
        ("(data.a == 'x' || data.b == 1) && (data.a == 'y' || data.c == 2)", doc(a="y", b=1), True),
        ("(data.a == 'x' || data.b == 1) && (data.a == 'y' || data.c == 2)", doc(a="x", b=1), False),
    ],
)
def test_a_condition_beside_an_or_naming_its_field_keeps_its_meaning(
    expr: str, event: dict[str, Any], expected: bool
) -> None:
    """A `$or` branch naming a field replaces the outer condition on it (event-ruler), so the
    compiler must never put such a condition beside the `$or`: it is AND-ed into each branch."""
    assert holds(expr, event) is expected
