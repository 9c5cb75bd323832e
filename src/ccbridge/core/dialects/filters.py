"""A subscription's filter, in whichever form its dialect wrote it, compiled to one event pattern.

CXone writes `filters` (`[{field, operator, value}]`), Genesys `filter` (an expression); either may
give `pattern` (an Amazon EventBridge pattern) instead, never both. The pattern is compiled here so a
body whose filter cannot run is refused, its problem under the field it came in
(`filters[0].operator`, `pattern.detail.x`).
"""

from __future__ import annotations

from typing import Any

from ccbridge.core.dialects.spec import FilterKind
from ccbridge.core.rules import PatternError, compile_pattern, expression_to_pattern, filters_to_pattern
from ccbridge.core.validation import Errors


def subscription_filter(
    body: dict[str, Any], dialect: str, errors: Errors
) -> tuple[FilterKind, Any, dict[str, Any] | None]:
    """(the form, the filter as given, its pattern); ("none", None, None) without one or at fault."""
    key = "filters" if dialect == "cxone" else "filter"
    given = [k for k in (key, "pattern") if body.get(k) not in (None, [], "")]
    if len(given) > 1:
        errors.add("pattern", f"give either {key} or pattern, not both")
        return "none", None, None
    if not given:
        return "none", None, None
    source = body[given[0]]
    kind: FilterKind
    try:
        if given[0] == "pattern":
            pattern, kind = source, "pattern"
        elif dialect == "cxone":
            pattern, kind = filters_to_pattern(source), "filters"
        else:
            if not isinstance(source, str):
                raise PatternError("filter", "must be an expression string")
            pattern, kind = expression_to_pattern(source), "expression"
        compile_pattern(pattern)
    except PatternError as exc:
        errors.add(_error_field(given[0], exc), exc.reason)
        return "none", None, None
    return kind, source, pattern


def _error_field(key: str, exc: PatternError) -> str:
    path = exc.path or ""
    if path.startswith(key):
        return path
    return f"{key}.{path}" if path and not path.startswith("[") else f"{key}{path}"
