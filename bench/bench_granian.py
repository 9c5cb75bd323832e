"""granian against uvicorn, serving the same apps under the same load (issue 15's serving trial).

Four targets, rounds interleaved (the order rotates each round) so drift on a shared machine hits
every one alike: ccbridge's app as `ccbridge serve` runs it (uvicorn + uvloop + the guarded httptools
protocol of `api/connections.py`), the same app (the same config, its own SQLite file) under granian
(ASGI, one worker, uvloop), and the bare Starlette endpoint of bench/bare_server.py under each.
`POST /api/v2/eventbridge/events` closed loop with wrk, medians over rounds.

granian is not a ccbridge dependency: `.venv/bin/pip install granian` first (the script says so
when it is missing). Under granian ccbridge loses what the guarded protocol gives (header and body
deadlines, 431 header limits, the connection cap's 503), which is why the figures must be worth it.

    .venv/bin/python bench/bench_granian.py            # 3 rounds of 1 s warm-up + 4 s, c=64
    .venv/bin/python bench/bench_granian.py -r 5 -d 5
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from loadgen import run_wrk
from support import BENCH, EVENTS_PATH, cxone_body, median, start_ccbridge, stop, token

from ccbridge.serve import free_port
from ccbridge.testing.server import RunningServer, write_config

GRANIAN_APP = """
import os
from ccbridge.bootstrap import build
from ccbridge.config import load_config

def app():
    return build(load_config(os.environ["CCBRIDGE_CONFIG"]), freeze_heap=True).app
"""


def wait_ready(url: str, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer in 30 s")
        time.sleep(0.05)


@contextlib.contextmanager
def granian_ccbridge(folder: Path) -> Iterator[RunningServer]:
    """ccbridge's app (`bootstrap.build`) under granian, as a child process."""
    folder.mkdir()
    port = free_port()
    config = write_config(folder, {"logging": {"level": "warning"}}, port)
    (folder / "granian_ccbridge.py").write_text(GRANIAN_APP)
    code = (
        "import sys; from granian import Granian; "
        f"Granian('granian_ccbridge:app', port={port}, interface='asgi', loop='uvloop', factory=True, "
        "log_level='warning').serve()"
    )
    env = {**os.environ, "CCBRIDGE_CONFIG": str(config), "PYTHONPATH": str(folder)}
    log = (folder / "server.log").open("ab")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=folder, env=env, stdout=log, stderr=log)
    try:
        srv = RunningServer(f"http://127.0.0.1:{port}", config, folder, process=process)
        wait_ready(srv.base_url + "/readyz", process)
        yield srv
    finally:
        stop(process)


@contextlib.contextmanager
def bare(server: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    cmd = [sys.executable, str(BENCH / "bare_server.py"), "--port", str(port), "--framework", "starlette"]
    process = subprocess.Popen([*cmd, "--server", server], cwd=BENCH)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-r", "--rounds", type=int, default=3)
    parser.add_argument("-d", "--duration", type=float, default=4.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("-c", "--connections", type=int, default=64)
    args = parser.parse_args()
    try:
        import granian  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        raise SystemExit("granian is not installed: .venv/bin/pip install granian") from None
    body = cxone_body()
    with tempfile.TemporaryDirectory(prefix="bench-granian-") as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        (folder / "uvicorn").mkdir()
        uvi = start_ccbridge(folder / "uvicorn")
        assert uvi.process is not None
        stack.callback(stop, uvi.process)
        gra = stack.enter_context(granian_ccbridge(folder / "granian"))
        auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token(uvi)}"}
        gra_auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token(gra)}"}
        bare_uvicorn, _ = stack.enter_context(bare("uvicorn"))
        bare_granian, _ = stack.enter_context(bare("granian"))
        targets = [
            ("ccbridge uvicorn", uvi.base_url, auth),
            ("ccbridge granian", gra.base_url, gra_auth),
            ("bare uvicorn", bare_uvicorn, auth),
            ("bare granian", bare_granian, auth),
        ]
        rates: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in targets}
        for round_no in range(args.rounds):
            order = targets[round_no % len(targets) :] + targets[: round_no % len(targets)]
            for name, url, headers in order:
                result = run_wrk(
                    url + EVENTS_PATH, "POST", headers, body, args.connections, args.duration, args.warmup
                )
                bad = (
                    f" non-2xx {result.not_ok} errors {result.errors}"
                    if result.not_ok or result.errors
                    else ""
                )
                print(
                    f"round {round_no + 1} {name:<18}{result.rate:9,.0f} ev/s  p50 {result.p50_ms:6.2f} ms  "
                    f"p99 {result.p99_ms:7.2f} ms{bad}",
                    flush=True,
                )
                rates[name].append((result.rate, result.p50_ms, result.p99_ms))
        print(f"\nmedians over {args.rounds} rounds (wrk, c={args.connections})")
        for name, runs in rates.items():
            rate = median([r for r, _, _ in runs])
            print(
                f"{name:<18}{rate:9,.0f} ev/s  p50 {median([p for _, p, _ in runs]):6.2f} ms  "
                f"p99 {median([p for _, _, p in runs]):7.2f} ms"
            )

        def m(name: str) -> float:
            return median([r for r, _, _ in rates[name]])

        print(
            f"granian / uvicorn: ccbridge {m('ccbridge granian') / m('ccbridge uvicorn'):.2f}x, "
            f"bare {m('bare granian') / m('bare uvicorn'):.2f}x"
        )


if __name__ == "__main__":
    main()
