"""Readiness: whether the store can write (`WriteHealth`) and answers at all (`ReadHealth`), for
`GET /readyz`.

Contracts: `write_problem` costs no I/O while writes succeed and, while they fail, tries one small
write so recovery is seen; writes failing that way raise `Unavailable` with `retry_after`.
`read_problem` costs one trivial query bounded by `within` seconds and never raises.
"""

from __future__ import annotations

from typing import Protocol


class WriteHealth(Protocol):
    """Whether the store can write now, for readiness."""

    async def write_problem(self) -> str | None:
        """Why writes fail for now (the disk is full, an I/O error), or None when they commit. Costs no
        I/O while writes succeed; while they fail it tries one small write, so recovery is seen even
        when nothing else writes. Writes that fail this way raise `Unavailable` (with `retry_after`)."""
        ...


class ReadHealth(Protocol):
    """Whether the store answers at all, for readiness (`GET /readyz`)."""

    async def read_problem(self, within: float = 2.0) -> str | None:
        """Why the store does not answer now (unreachable, not answering within `within` seconds),
        or None when one trivial query came back. Costs that one query; never raises."""
        ...
