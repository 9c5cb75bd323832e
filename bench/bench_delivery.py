"""End-to-end delivery: `POST /events` -> SQLite outbox -> dispatcher -> 3 webhook consumers.

Issue 4's targets: >= 3,000 deliveries/s and p50 ingest->receipt latency <= 20 ms.

* the server: `python -m ccbridge serve` as a child process, `delivery.allowed_networks: [127.0.0.0/8]`,
  one subscription on `contact.created` with three webhook endpoints, so every event fans out to 3
  deliveries (signed, as in production);
* the consumers: bench/consumers.py, one process with three raw asyncio + httptools listeners that
  answer 200 at once and record the receipt time (time.monotonic()) per X-Correlation-Id / webhook-id
  and endpoint;
* the publisher: a third process. Each request carries `X-Correlation-Id: <run>-<n>`, which the
  webhook carries back, so a receipt is matched to its POST's send time.

Two measurements, on a fresh server each:

* latency (`--rate`, default 200 events/s open loop, bench/loadgen.py, which records every send
  time): p50/p99 from the POST's send to each consumer's receipt, for events sent after the warm-up;
* throughput (closed loop, `-c` connections, wrk when installed): deliveries/s = receipts per second
  at the consumers while the load runs (after the warm-up; the target's figure), then the drain rate
  of the backlog left when the load stops (the dispatcher alone; meaningful when that backlog is
  thousands), and the total. Every run checks that each stored event reached all 3 endpoints once.

    .venv/bin/python bench/bench_delivery.py               # 200 ev/s for 5 s; 2 saturating rounds
    .venv/bin/python bench/bench_delivery.py --rate 500 -d 10 -r 3 -c 64
    .venv/bin/python bench/bench_delivery.py --only throughput --profile  # py-spy: load, then drain
    .venv/bin/python bench/bench_delivery.py --delivery-option per_endpoint_concurrency=128
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from consumers import Consumers, Receipt
from loadgen import Result, percentile, read_sends, request_template, run_python, run_wrk, wrk_available
from support import (
    EVENTS_PATH,
    SUBS_PATH,
    CpuMeter,
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

ENDPOINTS = 3
TARGET_DELIVERIES = 3_000
TARGET_P50_MS = 20.0
DRAIN_TIMEOUT = 60.0
PROFILE_DRAIN_SECONDS = 3
DELIVERY_CONFIG: dict[str, Any] = {"allowed_networks": ["127.0.0.0/8"]}  # + --delivery-option KEY=VALUE
WORKERS = [1]  # server.workers (--workers); the CPU figures then cover only the parent process


@dataclass
class Server:
    base_url: str
    pid: int
    db: Path
    headers: dict[str, str]


@contextlib.contextmanager
def delivering_server(folder: Path, consumers: Consumers) -> Iterator[Server]:
    srv = start_ccbridge(folder, {"delivery": DELIVERY_CONFIG, "server": {"workers": WORKERS[0]}})
    assert srv.process is not None
    try:
        bearer = token(srv)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"}
        sub = {
            "name": "bench-fan-out",
            "eventType": "contact.created",
            "endpoints": [{"url": url, "type": "webhook"} for url in consumers.urls()],
        }
        httpx.post(srv.base_url + SUBS_PATH, json=sub, headers=headers).raise_for_status()
        yield Server(srv.base_url, srv.process.pid, folder / "ccbridge.db", headers)
    finally:
        stop(srv.process)


def wait_for_receipts(
    consumers: Consumers, server: Server, timeout: float = DRAIN_TIMEOUT
) -> tuple[int, int]:
    """Waits until the consumers hold ENDPOINTS receipts per stored event; (receipts, expected)."""
    deadline = time.monotonic() + timeout
    while True:
        expected = ENDPOINTS * (sqlite_count(server.db, "SELECT count(*) FROM events") or 0)
        got = consumers.count()
        if got >= expected or time.monotonic() > deadline:
            return got, expected
        time.sleep(0.05)


def cpu_text(cpu: dict[str, float]) -> str:
    """CPU in % of one core; a high `other` (processes outside this bench) means a disturbed run."""
    return "cpu: " + ", ".join(f"{name} {value:.0f}%" for name, value in cpu.items())


def check(receipts: list[Receipt], expected: int) -> str:
    unique = len({(r.webhook_id, r.endpoint) for r in receipts})
    verdict = "all delivered" if unique == expected else "MISSING" if unique < expected else "EXTRA"
    dupes = f", {len(receipts) - unique} duplicates" if len(receipts) != unique else ""
    return f"{unique} unique (webhook-id, endpoint) receipts for {expected} expected: {verdict}{dupes}"


def latency_run(consumers: Consumers, folder: Path, rate: float, duration: float, warmup: float) -> None:
    consumers.reset()
    with delivering_server(folder, consumers) as server:
        host_port = server.base_url.removeprefix("http://")
        headers = {**server.headers, "X-Correlation-Id": "lat-{n}"}
        template = request_template("POST", EVENTS_PATH, host_port, headers, cxone_body())
        sends_file = folder / "sends.bin"
        host, port = host_port.split(":")
        meter = CpuMeter(server=server.pid, consumers=consumers.pid)
        result = run_python(
            host, int(port), template, 32, duration, warmup, rate=rate, sends_out=str(sends_file)
        )
        cpu = cpu_text(meter.stop())
        got, expected = wait_for_receipts(consumers, server)
        receipts = consumers.receipts(folder)
    sends = read_sends(str(sends_file))
    start = sends[0] + warmup if sends else 0.0
    latencies = sorted(
        r.at - sends[n]
        for r in receipts
        if r.correlation.startswith("lat-")
        and (n := int(r.correlation[4:])) < len(sends)
        and sends[n] >= start
    )
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    print(
        f"\nlatency run: {rate:g} events/s open loop for {duration:g} s (+{warmup:g} s warm-up), "
        f"{ENDPOINTS} endpoints; {cpu}"
    )
    print(
        f"  POST /events: {result.ok} answered 2xx, {result.not_ok} not, p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms, {result.late} sends late"
    )
    print(
        f"  ingest -> consumer receipt over {len(latencies)} deliveries: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"max {latencies[-1] * 1000 if latencies else float('nan'):.2f} ms"
    )
    print(f"  {check(receipts, expected)} ({got} receipts)")
    verdict = "met" if p50 <= TARGET_P50_MS else "MISSED"
    print(f"  target p50 <= {TARGET_P50_MS:g} ms: {p50:.2f} ms -> {verdict}")


@dataclass
class Throughput:
    ingest: float  # events/s answered 2xx during the load
    under_load: float  # deliveries/s at the consumers while the load ran (after the warm-up)
    drain: float  # deliveries/s after the load stopped, until the backlog was empty
    overall: float  # all deliveries / (last receipt - first receipt)
    backlog: int  # deliveries not yet received when the load stopped
    cpu: str
    post: Result
    note: str


def throughput_run(
    consumers: Consumers,
    folder: Path,
    connections: int,
    duration: float,
    warmup: float,
    tool: str,
    tag: str,
    profile: bool = False,
) -> Throughput:
    consumers.reset()
    with delivering_server(folder, consumers) as server:
        headers = {**server.headers, "X-Correlation-Id": f"{tag}-{{n}}"}
        body = cxone_body()
        spy_load = Path(tempfile.gettempdir()) / "ccbridge-bench-delivery-profile-load.txt"
        spy_drain = Path(tempfile.gettempdir()) / "ccbridge-bench-delivery-profile-drain.txt"
        spies = [start_profile(server.pid, warmup + duration, spy_load)] if profile else []
        meter, started = CpuMeter(server=server.pid, consumers=consumers.pid), time.monotonic()
        if tool == "wrk":
            post = run_wrk(
                server.base_url + EVENTS_PATH, "POST", headers, body, connections, warmup + duration, 0
            )
        else:
            host_port = server.base_url.removeprefix("http://")
            host, port = host_port.split(":")
            template = request_template("POST", EVENTS_PATH, host_port, headers, body)
            post = run_python(host, int(port), template, connections, warmup + duration, 0)
        ended = time.monotonic()
        cpu = cpu_text(meter.stop())
        if profile:
            wait_profile(spies[0])
            spies.append(start_profile(server.pid, PROFILE_DRAIN_SECONDS, spy_drain))
        got, expected = wait_for_receipts(consumers, server)
        receipts = consumers.receipts(folder)
    if profile:
        wait_profile(spies[-1])
        for what, raw, seconds in (
            ("the load (ingest and delivery)", spy_load, warmup + duration),
            ("the drain (delivery only)", spy_drain, PROFILE_DRAIN_SECONDS),
        ):
            print(f"  py-spy of the server (all threads) during {what}, {seconds:g} s:")
            print("\n".join("    " + line for line in summarize_profile(raw, seconds)))
            print(f"    raw stacks: {raw}")
    times = sorted(r.at for r in receipts)
    steady_from = started + warmup
    under_load = sum(1 for t in times if steady_from <= t < ended) / (ended - steady_from)
    after = [t for t in times if t >= ended]
    drain = len(after) / (after[-1] - ended) if len(after) > 1 else float("nan")
    overall = len(times) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    ingest = post.ok / (ended - started)
    return Throughput(
        ingest,
        under_load,
        drain,
        overall,
        len(after),
        cpu,
        post,
        f"{check(receipts, expected)} ({got} receipts)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0, help="events/s of the latency run")
    parser.add_argument("-d", "--duration", type=float, default=5.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("-c", "--concurrency", type=int, default=32, help="connections of the throughput run")
    parser.add_argument("-r", "--rounds", type=int, default=2, help="throughput rounds (medians reported)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--only", choices=["latency", "throughput"])
    parser.add_argument(
        "--delivery-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a server `delivery:` setting, e.g. per_endpoint_concurrency=64 (YAML value)",
    )
    parser.add_argument("--workers", type=int, default=1, help="server.workers (serve --workers)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the server during the first throughput run"
    )
    args = parser.parse_args()
    tool = args.loadgen if args.loadgen != "auto" else ("wrk" if wrk_available() else "python")
    WORKERS[0] = args.workers
    for option in args.delivery_option:
        key, _, value = option.partition("=")
        DELIVERY_CONFIG[key] = yaml.safe_load(value)
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp, Consumers(ENDPOINTS) as consumers:
        print(f"server delivery settings: {DELIVERY_CONFIG}, workers {args.workers}")
        print(
            f"{ENDPOINTS} webhook endpoints on one subscription (consumers pid {consumers.pid}), "
            f"body {len(cxone_body())} B"
        )
        if args.only in (None, "latency"):
            (Path(tmp) / "latency").mkdir()
            latency_run(consumers, Path(tmp) / "latency", args.rate, args.duration, args.warmup)
        if args.only in (None, "throughput"):
            runs = []
            print(
                f"\nthroughput runs: closed loop, c={args.concurrency}, {args.warmup:g} s warm-up + "
                f"{args.duration:g} s, publisher {tool}"
            )
            for round_no in range(args.rounds):
                folder = Path(tmp) / f"throughput-{round_no}"
                folder.mkdir()
                run = throughput_run(
                    consumers,
                    folder,
                    args.concurrency,
                    args.duration,
                    args.warmup,
                    tool,
                    f"sat{round_no}",
                    profile=args.profile and round_no == 0,
                )
                runs.append(run)
                print(
                    f"  round {round_no + 1}: ingest {run.ingest:,.0f} events/s "
                    f"(POST p50 {run.post.p50_ms:.1f} ms), "
                    f"deliveries/s under load {run.under_load:,.0f}, drain {run.drain:,.0f} "
                    f"(backlog {run.backlog:,} at load end), overall {run.overall:,.0f}"
                )
                print(f"    {run.cpu} during the load; {run.note}")
            under_load = median([r.under_load for r in runs])
            drain = median([r.drain for r in runs])
            print(
                f"\nmedians over {args.rounds} rounds: "
                f"ingest {median([r.ingest for r in runs]):,.0f} events/s, "
                f"deliveries/s under load {under_load:,.0f}, drain {drain:,.0f}, "
                f"overall {median([r.overall for r in runs]):,.0f}"
            )
            verdict = "met" if under_load >= TARGET_DELIVERIES else "MISSED"
            print(
                f"target >= {TARGET_DELIVERIES:,} deliveries/s (under load): {under_load:,.0f} -> {verdict}; "
                f"the dispatcher alone (drain): {drain:,.0f}"
            )


if __name__ == "__main__":
    main()
