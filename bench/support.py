"""Shared pieces of the HTTP benches: child-process servers, tokens, request bodies, py-spy summaries."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from ccbridge.serve import free_port
from ccbridge.testing.server import RunningServer, start_process

BENCH = Path(__file__).resolve().parent
EVENTS_PATH = "/api/v2/eventbridge/events"
SUBS_PATH = "/api/v2/eventbridge/subscriptions"


def cxone_body(event_type: str = "contact.created") -> bytes:
    """A CXone-dialect event of about 400 bytes, as a contact-center platform sends it."""
    import orjson

    return orjson.dumps(
        {
            "eventType": event_type,
            "timestamp": "2026-11-24T10:15:42.123Z",
            "attributes": {
                "contactId": "c-0012345678",
                "masterContactId": "c-0012345600",
                "channelType": "voice",
                "direction": "inbound",
                "skill": {"id": 4711, "name": "sales-emea-tier2"},
                "queue": "q-eu-042",
                "agent": {"id": "agent-0042", "name": "Agent 42", "team": "team-7"},
                "ani": "+441234567890",
                "dnis": "+18005550100",
                "campaign": {"id": "camp-17", "name": "Spring renewal outreach"},
                "priority": 3,
                "language": "en-GB",
            },
        }
    )


# --- servers -------------------------------------------------------------------------------------


def start_ccbridge(folder: Path, overrides: dict[str, Any] | None = None) -> RunningServer:
    """`python -m ccbridge serve --config FILE` as a child process (ccbridge.testing.server)."""
    base: dict[str, Any] = {
        "delivery": {"poll_interval_ms": 250, "shutdown_grace_seconds": 2},
        "logging": {"level": "warning"},
    }
    for key, value in (overrides or {}).items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return start_process(folder, base)


def stop(process: subprocess.Popen[Any] | None) -> None:
    """SIGTERM (graceful), then SIGKILL after 20 s."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def token(srv: RunningServer, scope: str | None = None) -> str:
    return asyncio.run(srv.token(scope))


@contextlib.contextmanager
def bare_server(framework: str = "fastapi") -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """bench/bare_server.py (`framework`: fastapi or starlette) as a child process; yields (process,
    base URL) once /healthz answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "bare_server.py"), "--port", str(port), "--framework", framework],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"bare server exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("bare server did not start in 30 s")
            time.sleep(0.05)
        yield process, url
    finally:
        stop(process)


def sqlite_count(db: Path, sql: str) -> int | None:
    """A count through the `sqlite3` command-line tool (None when it is not installed)."""
    if shutil.which("sqlite3") is None:
        return None
    out = subprocess.run(["sqlite3", str(db), sql], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc (0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine have been busy so far, from /proc/stat (0.0 elsewhere)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    except OSError:
        return 0.0
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


def _children_seconds() -> float:
    """This process and its waited-for children (the load generator run with subprocess.run)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class CpuMeter:
    """Where the machine's CPU went during a measurement, in % of one core: the processes named in
    `pids`, the load generator (this process and its waited-for children: run it with subprocess.run),
    and `other`: everything else on the machine (other users' work, kernel threads), which tells a
    run disturbed by a neighbour from a clean one."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self.wall = time.monotonic()
        self.machine = _machine_busy_seconds()
        self.children = _children_seconds()
        self.own = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.wall
        used = {name: cpu_seconds(pid) - self.own[name] for name, pid in self.pids.items()}
        used["loadgen"] = _children_seconds() - self.children
        machine = _machine_busy_seconds() - self.machine
        used["other"] = max(0.0, machine - sum(used.values()))
        return {name: 100 * seconds / wall for name, seconds in used.items()}


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- profiling -----------------------------------------------------------------------------------


def py_spy() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def start_profile(
    pid: int, seconds: float, out: Path, gil_only: bool = False
) -> subprocess.Popen[bytes] | None:
    """`py-spy record` on `pid` for `seconds` at 200 Hz (raw collapsed stacks, one root frame per
    thread), or None without py-spy. With `gil_only` only the thread holding the GIL is sampled."""
    exe = py_spy()
    if exe is None:
        return None
    cmd = [exe, "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", str(PROFILE_HZ)]
    cmd += ["-f", "raw", "-o", str(out), "--nonblocking", "--threads"]
    if gil_only:
        cmd.append("--gil")
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


PROFILE_HZ = 200
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{match['func']}"


ENTRY_FRAMES = (
    "<frozen runpy>",
    "typer/",
    "click/",
    "ccbridge/__main__.py",
    "ccbridge/cli.py:",
    "ccbridge/serve.py:",
    "uvicorn/server.py:",
    "uvicorn/_compat.py:",
    "asyncio/runners.py:",
    "threading.py:",
)
LOOP_FRAME = "asyncio/runners.py:Runner.run"


def summarize_profile(raw: Path, seconds: float, top: int = 12) -> list[str]:
    """Per-thread busy share of the wall time (py-spy counts a thread waiting for the GIL or on I/O
    as idle), then the top functions by self and by inclusive share of all busy samples. Entry
    frames (runpy, typer, uvicorn.run, Thread.run) are left out of the inclusive list; a sample whose
    innermost Python frame is `Runner.run` is uvloop's own C code (polling, socket I/O, callbacks)."""
    if not raw.exists():
        return ["(no profile written)"]
    threads: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, *frames = stack.split(";")
        names = [_short(f) for f in frames if f.strip()]
        if not names:
            continue
        threads[thread.split(": ", 1)[-1]] += count
        leaf = names[-1]
        self_time["(uvloop C code: polling, socket I/O)" if leaf == LOOP_FRAME else leaf] += count
        for name in set(names):
            if not name.startswith(ENTRY_FRAMES):
                inclusive[name] += count
    total = sum(threads.values())
    if total == 0:
        return ["(no samples)"]
    wall = seconds * PROFILE_HZ
    busy = ", ".join(f"{name} {100 * n / wall:.0f}%" for name, n in threads.most_common())
    lines = [f"{total} busy samples over {seconds:g} s; busy share of wall time per thread: {busy}"]
    lines.append("  self%  function (share of all busy samples spent in the function itself)")
    lines += [f"  {100 * n / total:5.1f}  {name}" for name, n in self_time.most_common(top)]
    lines.append("  incl%  function (with what it calls)")
    lines += [f"  {100 * n / total:5.1f}  {name}" for name, n in inclusive.most_common(top + 8)]
    return lines


def wait_profile(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
