"""`POST /api/v2/eventbridge/events` under concurrent load, next to a bare endpoint of the same stack.

Issue 2's targets: >= 5,000 events/s and >= 0.5x the bare endpoint's throughput.

* ccbridge: `python -m ccbridge serve` as a child process (SQLite store, synchronous=FULL with group
  commit, delivery enabled with no subscriptions), CXone bodies of ~400 bytes with a bearer token:
  `ccbridge` without an idempotency key, `ccbridge+key` with a unique `X-Idempotency-Key` per request.
* bare: bench/bare_server.py as a child process: uvicorn + uvloop + httptools + FastAPI, one route
  that parses the body with orjson and answers 201; the same request bytes (token included).
* the load generator is a third process: wrk (one thread) when installed, else bench/loadgen.py.

Rounds are interleaved (the target order rotates each round) so drift on a shared machine hits every
target alike; the table shows medians over rounds. Each run also reports where the CPU went (% of one
core): the server, the load generator, and `other` processes; a run during which others used more
than `--max-other` is repeated (at most `--retries` repeats in all, to bound the time). At the end
the server's SQLite `events` table is counted with `sqlite3` and compared with the 2xx answers seen
(exact with the Python generator; wrk abandons the requests in flight when a run ends).

    .venv/bin/python bench/bench_events.py                    # c=16,64, 3 rounds of 3 s
    .venv/bin/python bench/bench_events.py -c 64 -r 5 -d 5 --loadgen python
    .venv/bin/python bench/bench_events.py --profile 5        # then py-spy the server under load
    .venv/bin/python bench/bench_events.py --with-subscription  # also a server with one webhook sub
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from loadgen import Result, request_template, run_python, run_wrk, wrk_available
from support import (
    EVENTS_PATH,
    SUBS_PATH,
    CpuMeter,
    bare_server,
    cxone_body,
    median,
    sqlite_count,
    start_ccbridge,
    start_profile,
    stop,
    summarize_profile,
    token,
    wait_profile,
)

TARGET_RATE = 5_000
TARGET_RATIO = 0.5


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str
    headers: dict[str, str]
    pid: int
    db: Path | None  # the ccbridge database its 2xx answers are stored in


@dataclass(frozen=True)
class Run:
    result: Result
    cpu: dict[str, float]  # CPU use during the run incl. warm-up, % of one core: server, loadgen, other


def measure(
    target: Target, body: bytes, connections: int, duration: float, warmup: float, tool: str, tag: str
) -> Run:
    headers = {name: value.replace("{tag}", tag) for name, value in target.headers.items()}
    meter = CpuMeter(server=target.pid)
    if tool == "wrk":
        result = run_wrk(target.base_url + EVENTS_PATH, "POST", headers, body, connections, duration, warmup)
    else:
        host_port = target.base_url.removeprefix("http://")
        host, port = host_port.split(":")
        template = request_template("POST", EVENTS_PATH, host_port, headers, body)
        result = run_python(host, int(port), template, connections, duration, warmup)
    return Run(result, meter.stop())


def add_subscription(base_url: str, bearer: str, url: str) -> None:
    response = httpx.post(
        base_url + SUBS_PATH,
        json={"name": "bench-hook", "eventType": "contact.created", "endpoints": [{"url": url}]},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    response.raise_for_status()


def ccbridge_targets(stack: contextlib.ExitStack, folder: Path, with_subscription: bool) -> list[Target]:
    srv = start_ccbridge(folder)
    assert srv.process is not None
    stack.callback(stop, srv.process)
    db = folder / "ccbridge.db"
    auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token(srv)}"}
    if with_subscription:
        from consumers import Consumers

        consumer = stack.enter_context(Consumers(1))
        (folder / "sub").mkdir()
        sub_srv = start_ccbridge(folder / "sub", {"delivery": {"allowed_networks": ["127.0.0.0/8"]}})
        stack.callback(stop, sub_srv.process)
    targets = [
        Target("ccbridge", srv.base_url, auth, srv.process.pid, db),
        Target(
            "ccbridge+key",
            srv.base_url,
            {**auth, "X-Idempotency-Key": "bench-{tag}-{n}"},
            srv.process.pid,
            db,
        ),
    ]
    if with_subscription:
        sub_token = token(sub_srv)
        add_subscription(sub_srv.base_url, sub_token, consumer.urls()[0])
        sub_auth = {**auth, "Authorization": f"Bearer {sub_token}"}
        assert sub_srv.process is not None
        targets.append(
            Target(
                "ccbridge+1sub",
                sub_srv.base_url,
                sub_auth,
                sub_srv.process.pid,
                folder / "sub" / "ccbridge.db",
            )
        )
    return targets


def measure_undisturbed(
    target: Target,
    body: bytes,
    connections: int,
    args: argparse.Namespace,
    tool: str,
    tag: str,
    budget: list[int],
) -> tuple[Run, int, int]:
    """Measures, and measures again while other processes used more than `--max-other` CPU and the
    shared retry budget lasts. Returns the run kept, the 2xx answers of all attempts, the attempts."""
    answered = attempts = 0
    while True:
        key_tag = f"{tag.replace(' ', '')}c{connections}a{attempts}"  # keys unique per attempt
        run = measure(target, body, connections, args.duration, args.warmup, tool, key_tag)
        answered += run.result.ok
        attempts += 1
        disturbed = run.cpu["other"] > args.max_other
        last = not disturbed or budget[0] <= 0
        note = "" if not disturbed else "  (disturbed, kept)" if last else "  (disturbed, repeating)"
        print(f"{tag} {describe(connections, target, run)}{note}", flush=True)
        if last:
            return run, answered, attempts
        budget[0] -= 1


def describe(connections: int, target: Target, run: Run) -> str:
    result = run.result
    bad = f"  non-2xx {result.not_ok} errors {result.errors}" if result.not_ok or result.errors else ""
    return (
        f"c={connections:<4} {target.name:<14} {result.rate:8,.0f} ev/s  "
        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms  cpu: server {run.cpu['server']:3.0f}% "
        f"loadgen {run.cpu['loadgen']:3.0f}% other {run.cpu['other']:3.0f}%{bad}"
    )


def print_table(
    targets: list[Target],
    runs: dict[tuple[str, int], list[Run]],
    concurrency: list[int],
    tool: str,
    rounds: int,
) -> None:
    print(f"\nmedians over {rounds} rounds ({tool}); CPU in % of one core: the server, the load generator")
    print("and other processes on the machine (high 'other' = a disturbed run)")
    header = f"{'target':<15}{'conc':>5}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'x bare':>8}"
    print(f"{header}{'server%':>9}{'loadgen%':>9}{'other%':>8}")
    for connections in concurrency:
        bare_rate = median([r.result.rate for r in runs[("bare", connections)]])
        for target in targets:
            mine = runs[(target.name, connections)]
            rate = median([r.result.rate for r in mine])
            p50, p99 = median([r.result.p50_ms for r in mine]), median([r.result.p99_ms for r in mine])
            cpu = {name: median([r.cpu[name] for r in mine]) for name in ("server", "loadgen", "other")}
            print(
                f"{target.name:<15}{connections:>5}{rate:>10,.0f}{p50:>9.2f}{p99:>9.2f}"
                f"{rate / bare_rate:>7.2f}x{cpu['server']:>9.0f}{cpu['loadgen']:>9.0f}{cpu['other']:>8.0f}"
            )

    def best(name: str) -> float:
        return max(median([r.result.rate for r in runs[(name, c)]]) for c in concurrency)

    for target in targets[1:3]:  # the targets are for the endpoint itself
        rate, bare_rate = best(target.name), best("bare")
        verdict = "met" if rate >= TARGET_RATE and rate / bare_rate >= TARGET_RATIO else "MISSED"
        print(
            f"target {target.name}: >= {TARGET_RATE:,} events/s and >= {TARGET_RATIO}x bare -> best "
            f"{rate:,.0f} events/s, {rate / bare_rate:.2f}x the bare best: {verdict}"
        )


def profile(target: Target, body: bytes, connections: int, seconds: float, tool: str) -> int:
    """py-spy the target under load twice (all threads, then GIL holder only); returns the 2xx count."""
    answered = 0
    for gil_only in (False, True):
        raw = (
            Path(tempfile.gettempdir()) / f"ccbridge-bench-events-profile-{'gil' if gil_only else 'all'}.txt"
        )
        spy = start_profile(target.pid, seconds, raw, gil_only)
        if spy is None:
            print("\nprofile: py-spy is not installed (.venv/bin/pip install py-spy)")
            return answered
        time.sleep(0.3)  # let py-spy attach
        run = measure(target, body, connections, seconds, 0, tool, f"profile{int(gil_only)}")
        answered += run.result.ok
        wait_profile(spy)
        what = "the thread holding the GIL" if gil_only else "all threads"
        print(f"\npy-spy of {target.name} ({what}) under c={connections}: {run.result.rate:,.0f} events/s")
        print("\n".join(summarize_profile(raw, seconds)))
        print(f"raw stacks: {raw} (flamegraph.pl or speedscope can draw them)")
    return answered


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-c", "--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("-r", "--rounds", type=int, default=3)
    parser.add_argument("-d", "--duration", type=float, default=3.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load first")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--max-other",
        type=float,
        default=25.0,
        help="a run during which other processes used more CPU (%% of one core) is repeated",
    )
    parser.add_argument(
        "--retries", type=int, default=4, help="disturbed runs repeated at most, in all (bounds the time)"
    )
    parser.add_argument(
        "--with-subscription",
        action="store_true",
        help="add a server with one webhook subscription matching every event",
    )
    parser.add_argument(
        "--profile",
        type=float,
        metavar="SECONDS",
        help="after the rounds, py-spy the ccbridge server under load for SECONDS",
    )
    args = parser.parse_args()
    tool = args.loadgen if args.loadgen != "auto" else ("wrk" if wrk_available() else "python")
    body = cxone_body()

    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        bare, bare_url = stack.enter_context(bare_server())
        targets = ccbridge_targets(stack, folder, args.with_subscription)
        targets.insert(0, Target("bare", bare_url, targets[0].headers, bare.pid, None))
        print(
            f"body {len(body)} B, load generator: {tool} (its own process), {args.rounds} rounds of "
            f"{args.warmup:g} s warm-up + {args.duration:g} s measured per target and concurrency",
            flush=True,
        )
        runs: dict[tuple[str, int], list[Run]] = {}
        answered: collections.Counter[Path] = collections.Counter()
        dropped: collections.Counter[Path] = collections.Counter()
        budget = [args.retries]  # repeats of disturbed runs left, shared by all runs
        for round_no in range(args.rounds):
            order = targets[round_no % len(targets) :] + targets[: round_no % len(targets)]
            for connections in args.concurrency:
                for target in order:
                    tag = f"round {round_no + 1}"
                    run, ok, attempts = measure_undisturbed(
                        target, body, connections, args, tool, tag, budget
                    )
                    if target.db is not None:
                        answered[target.db] += ok
                        dropped[target.db] += 2 * connections * attempts
                    runs.setdefault((target.name, connections), []).append(run)
        print_table(targets, runs, args.concurrency, tool, args.rounds)
        if args.profile:
            connections = max(args.concurrency)
            assert targets[1].db is not None
            answered[targets[1].db] += profile(targets[1], body, connections, args.profile, tool)
            dropped[targets[1].db] += 2 * connections

        print()
        stack.close()  # stops the servers (SIGTERM), so the databases are complete
        for db, count in answered.items():
            stored = sqlite_count(db, "SELECT count(*) FROM events")
            diff = "?" if stored is None else f"{stored - count:+d}"
            slack = (
                " (exact: every request was drained)"
                if tool == "python"
                else (f" (wrk drops its requests in flight at the end of a run: up to {dropped[db]:,} here)")
            )
            print(
                f"sqlite {db.relative_to(folder)}: {stored} events stored, {count} answered 2xx, "
                f"difference {diff}{slack}"
            )


if __name__ == "__main__":
    main()
