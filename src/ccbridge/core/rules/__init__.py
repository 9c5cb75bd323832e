"""Event patterns (Amazon EventBridge syntax), the two small filter forms, and the many-rule index.

Pure and synchronous: no I/O, nothing mutable after construction. The public face is
`ccbridge.rules`; the semantics are written down in `patterns.py`.
"""

from ccbridge.core.rules.errors import PatternError
from ccbridge.core.rules.expression import expression_to_pattern
from ccbridge.core.rules.forms import FilterKind, filter_to_pattern, filters_to_pattern
from ccbridge.core.rules.index import RuleSet
from ccbridge.core.rules.patterns import CompiledPattern, compile_pattern, matches
from ccbridge.core.rules.reference import reference_matches

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
