"""The audit log page: the newest entries and the hash chain's verdict (`observability.audit.verify`).

The file is read and verified in a worker thread (it may be large and is on disk); the verdict is
of the whole chain, the table shows the last `SHOWN` lines, newest first. Lines that are not JSON
objects (a torn or edited line) are shown as such, since the verdict names them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ccbridge.api.ui.web import Dashboard
from ccbridge.observability.audit import Verification, verify

SHOWN = 200


def tail(path: Path, count: int) -> tuple[list[tuple[int, dict[str, Any] | None]], int]:
    """The last `count` lines as (1-based line number, record or None when not a JSON object),
    newest first, and the number of lines in the file. Blocking: run it in a thread."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    shown = []
    for number in range(len(lines), max(len(lines) - count, 0), -1):
        try:
            record = orjson.loads(lines[number - 1])
        except orjson.JSONDecodeError:
            record = None
        shown.append((number, record if isinstance(record, dict) else None))
    return shown, len(lines)


def _read(path: Path) -> tuple[Verification, list[tuple[int, dict[str, Any] | None]], int]:
    verdict = verify(path) if os.path.exists(path) else Verification(True, None, None)
    shown, total = tail(path, SHOWN)
    return verdict, shown, total


class AuditPage:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    async def show(self, request: Request) -> Response:
        session = self.dashboard.viewer(request)
        log = self.dashboard.services.audit
        context: dict[str, Any] = {"configured": log is not None, "verdict": None, "lines": [], "total": 0}
        if log is not None:
            with contextlib.suppress(OSError):  # a failed append shows in the verdict, not as a 500
                await log.drain()  # what this process recorded so far is on disk before it is read
            verdict, lines, total = await asyncio.to_thread(_read, log.path)
            context.update(verdict=verdict, lines=lines, total=total)
        return self.dashboard.render(
            "audit.html", title="Audit log", active="audit", session=session, shown=SHOWN, **context
        )


def routes(dashboard: Dashboard) -> list[Route]:
    return [Route("/audit", AuditPage(dashboard).show, methods=["GET"])]
