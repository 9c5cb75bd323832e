"""The one error the rules package raises on purpose, and how it spells a location.

Callers (the subscription API, `check-config`, the CLI) show the message to a person who wrote the
pattern, so it always says *where* (a JSON-path-like location) and *what* is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$@:\-]+")


class PatternError(ValueError):
    """A pattern, a `filters` list or a filter expression is invalid.

    `path` locates the fault (`data.channel`, `filters[2].value`, `filter`; empty for the whole
    pattern) and `reason` says what is wrong; `str()` joins them as `path: reason`.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


def format_path(parts: Sequence[str | int]) -> str:
    """Dotted keys with `[i]` indexes; keys that would read ambiguously are bracket-quoted."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_KEY.fullmatch(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{part!r}]")
    return "".join(out)
