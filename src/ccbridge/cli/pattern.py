"""`ccbridge test-pattern`: evaluate one event pattern against one event, like
`aws events test-event-pattern`.

Kept apart from the typer app so that it can be tested as a plain function and so that the CLI
loads the rules engine only when this command runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ccbridge.rules import PatternError, compile_pattern


class _InputError(Exception):
    pass


def _load(name: str, argument: str) -> Any:
    """`argument` is JSON text, or `@file` to read the JSON from a file."""
    text = argument
    if argument.startswith("@"):
        try:
            text = Path(argument[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise _InputError(f"{name}: cannot read {argument[1:]!r}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _InputError(
            f"{name}: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def test_pattern(pattern: str, event: str) -> int:
    """Print `true` or `false` and return 0; on bad input print `error: ...` to stderr and return 2."""
    try:
        compiled = compile_pattern(_load("pattern", pattern))
        document = _load("event", event)
        if not isinstance(document, dict):
            raise _InputError("event: must be a JSON object")
    except PatternError as exc:
        print(f"error: pattern: {exc}", file=sys.stderr)
        return 2
    except _InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("true" if compiled.matches(document) else "false")
    return 0


test_pattern.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name
