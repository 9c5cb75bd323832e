"""A real ccbridge server for tests and the demo: in this event loop on a free loopback port,
with a temporary SQLite file, or as a child process (for kill -9 tests).

`running_server(overrides)` deep-merges `overrides` into a loopback-friendly default config and
writes it to `srv.config_path`, so CLI commands can be pointed at the same server. It is the one
place that honours the config's `faults:` section (`ccbridge.testing.faults`): with `faults.rate > 0`
the served app, `srv.runtime.app`, is wrapped in a FaultInjector.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import yaml

from ccbridge.bootstrap import Runtime, build
from ccbridge.config import load_config
from ccbridge.serve import free_port, serve_async, stop_async
from ccbridge.testing.faults import FaultInjector

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret-0123456789"


def default_config(folder: Path, port: int) -> dict[str, Any]:
    return {
        "server": {"host": "127.0.0.1", "port": port},
        "store": {"url": f"sqlite:///{folder / 'ccbridge.db'}"},
        "auth": {"clients": [{"id": CLIENT_ID, "secret": CLIENT_SECRET}]},
        "delivery": {
            "allowed_networks": ["127.0.0.0/8", "::1/128"],
            "poll_interval_ms": 50,
            "shutdown_grace_seconds": 2,
        },
        "logging": {"level": "warning"},
    }


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass
class RunningServer:
    base_url: str
    config_path: Path
    folder: Path
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    runtime: Runtime | None = None
    process: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def token(self, scope: str | None = None) -> str:
        data = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        if scope:
            data["scope"] = scope
        async with httpx.AsyncClient() as client:
            response = await client.post(self.base_url + "/api/v2/oauth/token", data=data)
            response.raise_for_status()
            return str(response.json()["access_token"])


def write_config(folder: Path, overrides: dict[str, Any] | None, port: int) -> Path:
    config = merge(default_config(folder, port), overrides or {})
    path = folder / "ccbridge.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def running_server(
    overrides: dict[str, Any] | None = None, folder: Path | None = None, span_exporter: Any = None
) -> AsyncIterator[RunningServer]:
    """A server in this event loop; stopped (gracefully) on exit. `span_exporter` (an OpenTelemetry
    SpanExporter) receives the server's spans."""
    with contextlib.ExitStack() as stack:
        where = folder or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ccbridge-")))
        port = free_port()
        path = write_config(where, overrides, port)
        runtime = with_faults(build(load_config(path), span_exporter=span_exporter))
        server = await serve_async(runtime)
        try:
            yield RunningServer(f"http://127.0.0.1:{port}", path, where, runtime=runtime)
        finally:
            await stop_async(server)


def with_faults(runtime: Runtime) -> Runtime:
    """The runtime with its app wrapped in a FaultInjector when `faults.rate > 0`, else unchanged."""
    faults = runtime.config.faults
    if faults.rate <= 0:
        return runtime
    return replace(runtime, app=FaultInjector(runtime.app, faults))


def start_process(
    folder: Path,
    overrides: dict[str, Any] | None = None,
    port: int | None = None,
    workers: int | None = None,
) -> RunningServer:
    """`ccbridge serve` as a child process (for SIGKILL tests); waits until /readyz answers, and with
    `workers` (`serve --workers`, or a number in `server.workers`) until that many worker processes
    answer /metrics."""
    port = port or free_port()
    path = write_config(folder, overrides, port)
    log = (folder / "server.log").open("ab")
    extra = [] if workers is None else ["--workers", str(workers)]
    if workers is None and isinstance(configured := (overrides or {}).get("server", {}).get("workers"), int):
        workers = configured if configured > 1 else None
    process = subprocess.Popen(
        [sys.executable, "-m", "ccbridge", "serve", "--config", str(path), *extra],
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    srv = RunningServer(f"http://127.0.0.1:{port}", path, folder, process=process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: see {folder / 'server.log'}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(srv.base_url + "/readyz", timeout=1).status_code == 200 and (
                workers is None or len(serving_pids(srv)) >= workers
            ):
                return srv
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("server did not become ready in 30 s")


def child_pids(pid: int) -> set[int]:
    """The processes whose parent is `pid` (the workers of `serve --workers`), read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                # the command name may hold spaces and parentheses; ppid is the 2nd field after it
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.add(int(entry.name))
    return found


def process_info(metrics: str) -> dict[str, str]:
    """The labels of `ccbridge_process_info` in a /metrics text: {"pid": ..., "worker": ...}."""
    for line in metrics.splitlines():
        if line.startswith("ccbridge_process_info{"):
            labels = line[line.index("{") + 1 : line.index("}")]
            return {k: v.strip('"') for k, v in (part.split("=", 1) for part in labels.split(","))}
    raise ValueError("no ccbridge_process_info in the metrics")


def serving_pids(srv: RunningServer, attempts: int = 20) -> set[int]:
    """The pids that answer /metrics over `attempts` fresh connections (each worker accepts some)."""
    pids = set()
    for _ in range(attempts):
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(srv.base_url + "/metrics", timeout=2, headers={"Connection": "close"})
            pids.add(int(process_info(response.text)["pid"]))
    return pids


def kill(srv: RunningServer, sig: int = signal.SIGKILL) -> None:
    assert srv.process is not None
    srv.process.send_signal(sig)
    srv.process.wait(timeout=30)


async def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> Any:  # noqa: ASYNC109
    """Poll an async predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)
