"""Reading an event the way EventBridge does: the values at a dotted path.

Shared by the reference evaluator and the pattern tester's explanation, so both read an event
exactly as each other (the automaton reads events through its own key trie; the property tests
hold it to the reference).
"""

from __future__ import annotations

from typing import Any


def values_at(event: Any, parts: tuple[str, ...]) -> list[Any]:
    """Every value at the dotted path `parts`: arrays spread at any depth, objects left out, an event
    key holding dots standing for as many levels (`{"a.b": 1}` is at `a.b`)."""
    out: list[Any] = []
    _reach(event, parts, out)
    return [v for v in out if not isinstance(v, dict)]


def _reach(node: Any, parts: tuple[str, ...], out: list[Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _reach(item, parts, out)
    elif not parts:
        out.append(node)
    elif isinstance(node, dict):
        for key, value in node.items():
            key_parts = tuple(key.split("."))
            if parts[: len(key_parts)] == key_parts:
                _reach(value, parts[len(key_parts) :], out)
