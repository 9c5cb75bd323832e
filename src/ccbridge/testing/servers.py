"""`Servers`: `ccbridge serve` child processes started off the event loop, every one of them killed
at `cleanup` (the e2e tests' `servers` fixture calls it, so a test that fails mid-way leaves none
behind)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from pathlib import Path
from typing import Any

from ccbridge.testing.server import RunningServer, start_process


class Servers:
    """Starts `ccbridge serve` child processes (off the event loop) and kills leftovers at teardown."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    async def start(
        self,
        folder: Path,
        overrides: dict[str, Any] | None = None,
        port: int | None = None,
        workers: int | None = None,
    ) -> RunningServer:
        started = time.monotonic()
        srv = await asyncio.to_thread(start_process, folder, overrides, port, workers)
        assert srv.process is not None
        self.processes.append(srv.process)
        srv.extra["startup_seconds"] = time.monotonic() - started
        return srv

    def cleanup(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
