"""The public face of ccbridge's event filters (a fixed interface: tools and users import it).

`matches(pattern, event)` evaluates one Amazon EventBridge event pattern against one event
document; `RuleSet` matches many subscriptions' patterns in one pass; `filters_to_pattern` and
`expression_to_pattern` turn the source documents' two other filter forms into patterns. Invalid
input raises `PatternError` (a `ValueError`) with `.path` and `.reason`.
"""

from ccbridge.core.rules import (
    CompiledPattern,
    FilterKind,
    PatternError,
    RuleSet,
    compile_pattern,
    expression_to_pattern,
    filter_to_pattern,
    filters_to_pattern,
    matches,
    reference_matches,
)

__all__ = [
    "CompiledPattern",
    "FilterKind",
    "PatternError",
    "RuleSet",
    "compile_pattern",
    "expression_to_pattern",
    "filter_to_pattern",
    "filters_to_pattern",
    "matches",
    "reference_matches",
]
