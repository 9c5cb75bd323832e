"""Runs every bench script in bench/ in sequence and prints their figures (`make bench`).

Order: bench_rules, bench_http_clients (reduced: -n 1500, c=10,100, one round), bench_app_cost, bench_events,
bench_delivery, bench_ingest, bench_scale (issue 15's table), then any other bench_*.py except
bench_granian (it needs granian installed; name it to run it). Each script's output is shown as it runs;
a summary at the end repeats the lines that name a target. Exit status is non-zero only when a
script crashed (non-zero exit); a missed target is printed, not a failure.

    .venv/bin/python bench/run_all.py                 # everything, about 12 minutes on 2 cores
    .venv/bin/python bench/run_all.py events delivery # only bench_events.py and bench_delivery.py
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORDER = [
    "bench_rules",
    "bench_http_clients",
    "bench_app_cost",
    "bench_events",
    "bench_delivery",
    "bench_ingest",
    "bench_scale",
]
ON_REQUEST = {"bench_granian"}  # run only when named
ARGS: dict[str, list[str]] = {
    "bench_http_clients": ["-n", "1500", "-c", "10", "100", "-r", "1"],
}


def scripts(only: list[str]) -> list[Path]:
    found = {p.stem: p for p in BENCH.glob("bench_*.py")}
    names = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    if not only:
        return [found[n] for n in names if n not in ON_REQUEST]
    wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in only}
    unknown = wanted - set(names)
    if unknown:
        raise SystemExit(f"no such bench script: {', '.join(sorted(unknown))}")
    names = [n for n in names if n in wanted]
    return [found[n] for n in names]


KEY_LINES = ("ingest ", "sqlite ")
KEY_PARTS = ("10-rule / 10,000-rule", "ingest -> consumer receipt", "more of the event loop per event")


def figures(lines: list[str]) -> list[str]:
    """The lines worth repeating: tables after a `medians` line, targets and each script's key lines."""
    out: list[str] = []
    in_table = False
    for line in lines:
        if line.startswith("medians"):
            in_table = True
        elif not line.strip():
            in_table = False
        is_target = "target" in line.lower() and ("met" in line or "MISSED" in line)
        key = line.startswith(KEY_LINES) or any(part in line for part in KEY_PARTS)
        if (in_table or is_target or key) and line not in out:
            out.append(line)
    return out


def run(script: Path) -> tuple[int, float, list[str]]:
    """Runs one script, echoing its output; returns (exit status, seconds, output lines)."""
    cmd = [sys.executable, str(script), *ARGS.get(script.stem, [])]
    print(f"\n=== {' '.join([Path(cmd[0]).name, *cmd[1:]])}", flush=True)
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(
        cmd, cwd=BENCH.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    return process.returncode, time.monotonic() - started, lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("only", nargs="*", help="script names to run (bench_events or events); default all")
    args = parser.parse_args()
    results = []
    for script in scripts(args.only):
        status, seconds, lines = run(script)
        results.append((script.stem, status, seconds, lines))
    print("\n=== summary")
    for name, status, seconds, lines in results:
        outcome = "ok" if status == 0 else f"CRASHED (exit {status})"
        print(f"{name:<20} {seconds:6.1f} s  {outcome}")
        for line in figures(lines):
            print(f"    {line}")
    crashed = [name for name, status, _, _ in results if status != 0]
    if crashed:
        print(f"crashed: {', '.join(crashed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
