"""The two small filter forms of the source documents, compiled into event patterns.

CXone `filters` (seed 001): `[{"field": "contact.channelType", "operator": "eq", "value": "voice"}]`.
Fields are dotted paths relative to `data`; all triples are AND-ed. Seed 001 types `value` as a
string, so a string that reads as a JSON number, `true`, `false` or `null` also stands for that JSON
value (`"120"` matches both `"120"` and `120`). Per operator:

- `eq` value; `in` any of a list (or a comma-separated string); `ne` holds for a present value that
  is none of them (false on a missing field, like EventBridge `anything-but`);
- `gt`/`gte`/`lt`/`lte` need a number (or a numeric string) and hold for number values only;
- `prefix`/`suffix` need a string; `exists` takes true/false (or "true"/"false"; empty means true);
- `contains` with a string is a substring test on a string value, or on any string element of an
  array (so an array holding exactly that string also matches); with a number, boolean or null, or
  for the JSON twin of a numeric string, it matches a value or array element equal to it.

Genesys expressions (seed 002) live in `expression.py`; `filter_to_pattern` dispatches on the kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

from ccbridge.core.rules.errors import PatternError
from ccbridge.core.rules.expression import expression_to_pattern
from ccbridge.core.rules.logic import All, Cond, Expr, substring_wildcard, to_pattern
from ccbridge.core.rules.operators import json_type
from ccbridge.core.rules.patterns import compile_pattern

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SCALAR_TYPES = (str, int, float, bool, type(None))


def _twins(value: Any) -> list[Any]:
    """The value, plus the JSON value a string spells when it spells one."""
    if isinstance(value, str):
        text = value.strip()
        if _JSON_NUMBER.fullmatch(text) or text in ("true", "false", "null"):
            return [value, json.loads(text)]
    return [value]


def _number(value: Any, op: str, where: str) -> int | float:
    if isinstance(value, str) and _JSON_NUMBER.fullmatch(value.strip()):
        number: int | float = json.loads(value.strip())
        return number
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise PatternError(where, f"{op} needs a number, got {json_type(value)}")


def _scalar(value: Any, op: str, where: str) -> Any:
    if not isinstance(value, _SCALAR_TYPES):
        raise PatternError(where, f"{op} needs a single value, got {json_type(value)}")
    return value


def _eq(path: tuple[str, ...], value: Any, where: str) -> Expr:
    return Cond(path, tuple(_twins(_scalar(value, "eq", where))))


def _in(path: tuple[str, ...], value: Any, where: str) -> Expr:
    items = [s.strip() for s in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise PatternError(where, "in needs a non-empty list or a comma-separated string")
    return Cond(path, tuple(t for item in items for t in _twins(_scalar(item, "in", where))))


def _ne(path: tuple[str, ...], value: Any, where: str) -> Expr:
    conds: list[Expr] = []
    for twin in _twins(_scalar(value, "ne", where)):
        if twin is None or isinstance(twin, bool):
            others = [v for v in (True, False, None) if v is not twin]
            leaf = ({"wildcard": "*"}, {"numeric": ["<", 0]}, {"numeric": [">=", 0]}, *others)
            conds.append(Cond(path, leaf))
        else:
            conds.append(Cond(path, ({"anything-but": twin},)))
    return All(tuple(conds))


def _contains(path: tuple[str, ...], value: Any, where: str) -> Expr:
    twins = _twins(_scalar(value, "contains", where))
    leaf: list[Any] = []
    for twin in twins:
        if isinstance(twin, str):
            leaf.append(substring_wildcard(twin))
        else:
            leaf.append(twin)
    return Cond(path, tuple(leaf))


def _text_op(op: str) -> Callable[[tuple[str, ...], Any, str], Expr]:
    def build(path: tuple[str, ...], value: Any, where: str) -> Expr:
        if not isinstance(value, str):
            raise PatternError(where, f"{op} needs a string, got {json_type(value)}")
        return Cond(path, ({op: value},))

    return build


def _numeric_op(op: str, symbol: str) -> Callable[[tuple[str, ...], Any, str], Expr]:
    def build(path: tuple[str, ...], value: Any, where: str) -> Expr:
        return Cond(path, ({"numeric": [symbol, _number(value, op, where)]},))

    return build


def _exists(path: tuple[str, ...], value: Any, where: str) -> Expr:
    flags = {True: True, False: False, None: True, "": True, "true": True, "false": False}
    key = value.strip().lower() if isinstance(value, str) else value
    if not isinstance(key, str | bool | None) or key not in flags:
        raise PatternError(where, f"exists needs true or false, got {value!r}")
    return Cond(path, ({"exists": flags[key]},))


_OPERATORS: dict[str, Callable[[tuple[str, ...], Any, str], Expr]] = {
    "eq": _eq,
    "ne": _ne,
    "gt": _numeric_op("gt", ">"),
    "gte": _numeric_op("gte", ">="),
    "lt": _numeric_op("lt", "<"),
    "lte": _numeric_op("lte", "<="),
    "in": _in,
    "contains": _contains,
    "prefix": _text_op("prefix"),
    "suffix": _text_op("suffix"),
    "exists": _exists,
}


def _field_path(field: Any, where: str) -> tuple[str, ...]:
    if not isinstance(field, str) or not field.strip():
        raise PatternError(where, "field needs a non-empty dotted path, e.g. contact.channelType")
    keys = tuple(field.strip().split("."))
    if "" in keys:
        raise PatternError(where, f"empty segment in field {field!r}")
    if "$or" in keys:
        raise PatternError(where, "the field name '$or' is reserved")
    return ("data", *keys)


def filters_to_pattern(filters: Any) -> dict[str, Any]:
    """Compile CXone `filters` (see the module docstring); `[]` or `None` gives `{}` (match all)."""
    if filters is None:
        return {}
    if not isinstance(filters, list):
        raise PatternError(
            "filters", f"must be an array of {{field, operator, value}}, got {json_type(filters)}"
        )
    conds: list[Expr] = []
    for i, triple in enumerate(filters):
        where = f"filters[{i}]"
        if not isinstance(triple, dict):
            raise PatternError(
                where, f"must be an object {{field, operator, value}}, got {json_type(triple)}"
            )
        path = _field_path(triple.get("field"), f"{where}.field")
        op = triple.get("operator")
        build = _OPERATORS.get(op.strip().lower()) if isinstance(op, str) else None
        if build is None:
            known = ", ".join(_OPERATORS)
            raise PatternError(f"{where}.operator", f'unknown operator "{op}" (expected one of {known})')
        conds.append(build(path, triple.get("value"), f"{where}.value"))
    pattern = to_pattern(All(tuple(conds)))
    compile_pattern(pattern)
    return pattern


FilterKind = Literal["pattern", "filters", "expression"]


def filter_to_pattern(kind: FilterKind, value: Any) -> dict[str, Any]:
    """One entry point for the three ways a subscription may state its filter."""
    if kind == "pattern":
        compile_pattern(value)
        assert isinstance(value, dict)
        return value
    if kind == "filters":
        return filters_to_pattern(value)
    if kind == "expression":
        return expression_to_pattern(value)
    raise PatternError("", f"unknown filter kind {kind!r}")
