"""Issue 15's table: SQLite 1 process, SQLite `--workers 2`, PostgreSQL 1 and 2 replicas, and the
peer (Starlette + RabbitMQ + Celery, bench/peers/), side by side in one run.

Per row, on servers started for it (`python -m ccbridge serve` child processes; the peer's
endpoint and Celery workers from bench/peers/.venv, created when missing):

* ingest: `POST /api/v2/eventbridge/events` closed loop (wrk, `BENCH_CONNECTIONS` connections, split
  over the replicas), rounds interleaved with the bare Starlette endpoint (bench/bare_server.py, one
  process, same stack: uvicorn + uvloop + httptools) on the same request bytes; events/s with p50/p99
  ack latency, and the ratio to the bare median of the same rounds. With two targets the rate is
  the sum, p50 the mean and p99 the higher of the two halves;
* ack p99 at 2,000 events/s: open loop (bench/loadgen.py) against the same ingest server;
* `/ingest` (the JWT gateway, ES256, one reused token, a new Idempotency-Key per request), wrk;
* delivery: one subscription with 3 webhook endpoints on the consumers' process (bench/consumers.py,
  the same one for every row): first an open loop at `BENCH_E2E_RATE` events/s for p50/p99 from
  the POST's send to each receipt, then closed-loop rounds for deliveries/s at the consumers while
  the load runs (after the warm-up). Every round waits until each stored event reached all 3
  endpoints (the backlog drains) and checks that none is missing;
* matching: `RuleSet.matching` in-process over bench_rules.py's mixed patterns, events/s at 10 /
  1,000 / 10,000 subscriptions (medians of passes).

Then the issue's targets, each `met` or `MISSED` with its figures. Medians of `BENCH_ROUNDS` rounds.
The machine is shared: compare ratios within one run.

    .venv/bin/python bench/bench_scale.py                     # everything, about 8 minutes
    BENCH_SECONDS=2 BENCH_ROUNDS=1 .venv/bin/python bench/bench_scale.py   # a short trial
    .venv/bin/python bench/bench_scale.py --rows sqlite-1 peer --skip delivery
    .venv/bin/python bench/bench_scale.py --tune-peer         # the peer's pool / prefetch trials

Environment: BENCH_SECONDS (measured seconds per run, default 3), BENCH_WARMUP (1), BENCH_ROUNDS
(3), BENCH_CONNECTIONS (64), BENCH_E2E_RATE (100: 300 deliveries/s, which the peer sustains too),
CCBRIDGE_BENCH_POSTGRES (the database, default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from consumers import Consumers, Receipt
from loadgen import Result, percentile, read_sends, request_template, run_python, run_wrk, wrk_available
from support import (
    BENCH,
    EVENTS_PATH,
    SUBS_PATH,
    bare_server,
    cxone_body,
    median,
    sqlite_count,
    start_ccbridge,
    stop,
    token,
)

SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "1"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
E2E_RATE = float(os.environ.get("BENCH_E2E_RATE", "100"))  # 300 deliveries/s: within the peer's reach
POSTGRES = os.environ.get("CCBRIDGE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ACK_RATE = 2_000.0
DRAIN_TIMEOUT = 120.0
ENDPOINTS = 3
PEERS = BENCH / "peers"
PEER_PYTHON = PEERS / ".venv" / "bin" / "python"
PEER_POOL = ("threads", 32, 4)  # (pool, concurrency, prefetch multiplier): the tuning's winner
ROWS = ("sqlite-1", "sqlite-w2", "postgres-1", "postgres-2", "peer")
LABELS = {
    "sqlite-1": "SQLite, 1 process",
    "sqlite-w2": "SQLite, --workers 2",
    "postgres-1": "PostgreSQL, 1 replica",
    "postgres-2": "PostgreSQL, 2 replicas",
    "peer": "peer: RabbitMQ+Celery",
}


# --- one deployment of a row ---------------------------------------------------------------------


@dataclass
class Deployment:
    """What a row serves: its base URLs (load is split over them), request headers, the count of
    events it has stored (the deliveries expected are 3x that), and how to stop it."""

    urls: list[str]
    headers: dict[str, str]
    stored: Callable[[], int]
    ingest_headers: dict[str, str] | None = None  # `/ingest`'s; None: the row has no /ingest
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)


def psql(sql: str) -> str:
    out = subprocess.run(["psql", POSTGRES, "-tAqc", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def ccbridge_overrides(row: str, schema: str | None) -> dict[str, Any]:
    from bench_ingest import SECTION

    overrides: dict[str, Any] = {
        "delivery": {"allowed_networks": ["127.0.0.0/8"]},
        "ingest": SECTION,
    }
    if row == "sqlite-w2":
        overrides["server"] = {"workers": 2}
    if schema is not None:
        overrides["store"] = {"url": POSTGRES, "postgres_schema": schema}
    return overrides


@contextlib.contextmanager
def ccbridge(row: str, folder: Path, hooks: list[str] | None) -> Iterator[Deployment]:
    """The row's ccbridge servers (one, or two replicas on one PostgreSQL schema); with `hooks`, one
    subscription on `contact.created` with those webhook endpoints."""
    from bench_ingest import prepare, tokens

    schema = f"bench_{uuid.uuid4().hex[:12]}" if row.startswith("postgres") else None
    replicas = 2 if row == "postgres-2" else 1
    folders = [folder / f"replica-{i}" for i in range(replicas)]
    for place in folders:
        place.mkdir(parents=True)
    issuer = prepare(folders[0])
    for place in folders[1:]:
        shutil.copytree(folders[0] / "keys", place / "keys")
        shutil.copytree(folders[0] / "schemas", place / "schemas")
    processes: list[subprocess.Popen[Any]] = []
    try:
        servers = []
        for place in folders:
            srv = start_ccbridge(place, ccbridge_overrides(row, schema))
            assert srv.process is not None
            processes.append(srv.process)
            servers.append(srv)
        bearer = token(servers[0])
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"}
        if hooks:
            sub = {
                "name": "bench-fan-out",
                "eventType": "contact.created",
                "endpoints": [{"url": url, "type": "webhook"} for url in hooks],
            }
            httpx.post(servers[0].base_url + SUBS_PATH, json=sub, headers=headers).raise_for_status()
            if replicas > 1:
                wait_subscribed(servers[1].base_url, headers)
        if schema is None:
            db = folders[0] / "ccbridge.db"

            def stored() -> int:
                return sqlite_count(db, "SELECT count(*) FROM events") or 0
        else:

            def stored() -> int:
                return int(psql(f"SELECT count(*) FROM {schema}.events"))

        ingest_headers = {
            "Authorization": tokens(issuer, 1, fresh=False)[0],
            "Content-Type": "application/json",
            "Idempotency-Key": "bench-{n}",
        }
        yield Deployment([s.base_url for s in servers], headers, stored, ingest_headers, processes)
    finally:
        for process in processes:
            stop(process)
        if schema is not None:
            psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def wait_subscribed(url: str, headers: dict[str, str]) -> None:
    """Until the replica at `url` lists the subscription (it routes with what it has loaded)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = httpx.get(url + SUBS_PATH, headers=headers).json()
        items = answer.get("items", answer) if isinstance(answer, dict) else answer
        if items:
            return
        time.sleep(0.05)
    raise RuntimeError("the second replica did not see the subscription in 10 s")


def ensure_peer_venv() -> None:
    """bench/peers/.venv with bench/peers/requirements.txt, created when missing."""
    stamp = PEERS / ".venv" / ".installed"
    requirements = PEERS / "requirements.txt"
    if stamp.exists() and stamp.stat().st_mtime >= requirements.stat().st_mtime:
        return
    print("peer: installing bench/peers/requirements.txt into bench/peers/.venv", flush=True)
    if not PEER_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS / ".venv")], check=True)
    pip = [str(PEER_PYTHON), "-m", "pip", "install", "-q", "-r", str(requirements)]
    subprocess.run(pip, check=True)
    stamp.touch()


def wait_http(url: str, process: subprocess.Popen[Any], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer in 30 s")
        time.sleep(0.05)


def purge_celery_queue() -> None:
    subprocess.run(
        [str(PEER_PYTHON), "-c", PURGE], cwd=PEERS, check=True, capture_output=True, text=True, timeout=60
    )


PURGE = """
import asyncio, aio_pika
async def main():
    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("celery", durable=True)
        await queue.purge()
asyncio.run(main())
"""


def stop_group(process: subprocess.Popen[Any]) -> None:
    """SIGTERM to the process group it leads (Celery's prefork children), SIGKILL after 20 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def peer(
    folder: Path, hooks: list[str] | None, pool: tuple[str, int, int] = PEER_POOL
) -> Iterator[Deployment]:
    """The peer's endpoint, and with `hooks` its Celery workers (`pool`) posting to them."""
    from support import free_port

    folder.mkdir(parents=True, exist_ok=True)
    purge_celery_queue()
    port = free_port()
    log = (folder / "peer.log").open("ab")
    processes: list[subprocess.Popen[Any]] = []
    try:
        endpoint = subprocess.Popen(
            [str(PEER_PYTHON), "endpoint.py", "--port", str(port)], cwd=PEERS, stdout=log, stderr=log
        )
        processes.append(endpoint)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", endpoint, "the peer endpoint")
        if hooks:
            name, concurrency, prefetch = pool
            ready = folder / "celery.ready"
            env = {
                **os.environ,
                "PEER_WEBHOOKS": ",".join(hooks),
                "PEER_PREFETCH": str(prefetch),
                "PEER_READY_FILE": str(ready),
            }
            cmd = [str(PEERS / ".venv" / "bin" / "celery"), "-A", "tasks", "worker", "-P", name]
            cmd += ["-c", str(concurrency), "-l", "warning", "--without-gossip", "--without-mingle"]
            cmd += ["--without-heartbeat", "-Q", "celery"]
            worker = subprocess.Popen(cmd, cwd=PEERS, stdout=log, stderr=log, env=env, start_new_session=True)
            processes.append(worker)
            wait_celery_ready(worker, ready, folder / "peer.log")

        def stored() -> int:
            return int(httpx.get(url + "/stats").json()["confirmed"])

        yield Deployment([url], {"Content-Type": "application/json"}, stored, None, processes)
    finally:
        for process in reversed(processes):  # the Celery worker (a process group) first
            if process is processes[0]:
                stop(process)
            else:
                stop_group(process)
        log.close()
        purge_celery_queue()


def wait_celery_ready(worker: subprocess.Popen[Any], ready: Path, log: Path) -> None:
    """Until the worker consumes (tasks.py touches `ready` on Celery's `worker_ready` signal)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with {worker.returncode}: see {log}")
        if ready.exists():
            return
        time.sleep(0.1)
    raise RuntimeError(f"the Celery worker did not become ready in 60 s: see {log}")


def deploy(row: str, folder: Path, hooks: list[str] | None) -> contextlib.AbstractContextManager[Deployment]:
    return peer(folder, hooks) if row == "peer" else ccbridge(row, folder, hooks)


# --- load ----------------------------------------------------------------------------------------


@dataclass
class Load:
    rate: float
    p50_ms: float
    p99_ms: float
    ok: int
    not_ok: int
    errors: int


def combined(results: list[Result]) -> Load:
    """Two halves of one load: rates and counts add; p50 is their mean, p99 the higher."""
    return Load(
        sum(r.rate for r in results),
        statistics.mean(r.p50_ms for r in results),
        max(r.p99_ms for r in results),
        sum(r.ok for r in results),
        sum(r.not_ok for r in results),
        sum(r.errors for r in results),
    )


def closed_loop(
    urls: list[str], path: str, headers: dict[str, str], body: bytes, connections: int, seconds: float
) -> Load:
    """wrk (or the Python generator) on every URL at once, the connections split between them."""
    share = max(1, connections // len(urls))

    def one(url: str) -> Result:
        if wrk_available():
            return run_wrk(url + path, "POST", headers, body, share, seconds, WARMUP)
        host_port = url.removeprefix("http://")
        host, port = host_port.split(":")
        template = request_template("POST", path, host_port, headers, body)
        return run_python(host, int(port), template, share, seconds, WARMUP)

    with ThreadPoolExecutor(len(urls)) as pool:
        return combined(list(pool.map(one, urls)))


def open_loop(
    urls: list[str],
    headers: dict[str, str],
    body: bytes,
    rate: float,
    seconds: float,
    folder: Path,
    tag: str,
) -> tuple[Load, list[tuple[str, float]]]:
    """The Python generator at `rate` in all, split over the URLs; also (correlation id, send time)
    of each request sent after the warm-up."""

    def one(index: int) -> tuple[Result, list[tuple[str, float]]]:
        url = urls[index]
        host_port = url.removeprefix("http://")
        host, port = host_port.split(":")
        prefix = f"{tag}{index}-"
        template = request_template(
            "POST", EVENTS_PATH, host_port, {**headers, "X-Correlation-Id": prefix + "{n}"}, body
        )
        sends_file = folder / f"sends-{tag}-{index}.bin"
        result = run_python(
            host, int(port), template, 32, seconds, WARMUP, rate=rate / len(urls), sends_out=str(sends_file)
        )
        sends = read_sends(str(sends_file))
        start = sends[0] + WARMUP if sends else 0.0
        return result, [(f"{prefix}{n}", at) for n, at in enumerate(sends) if at >= start]

    with ThreadPoolExecutor(len(urls)) as pool:
        parts = list(pool.map(one, range(len(urls))))
    return combined([r for r, _ in parts]), [s for _, sends in parts for s in sends]


def wait_delivered(consumers: Consumers, deployment: Deployment, before: int = 0) -> tuple[int, int]:
    """Until the consumers (reset when `before` events were stored) hold 3 receipts per event stored
    since (or DRAIN_TIMEOUT); (got, expected)."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        expected = ENDPOINTS * (deployment.stored() - before)
        got = consumers.count()
        if got >= expected or time.monotonic() > deadline:
            return got, expected
        time.sleep(0.1)


def check(receipts: list[Receipt], expected: int) -> str:
    unique = len({(r.webhook_id, r.endpoint) for r in receipts})
    verdict = "all delivered" if unique == expected else "MISSING" if unique < expected else "EXTRA"
    dupes = f", {len(receipts) - unique} duplicates" if len(receipts) != unique else ""
    return f"{unique}/{expected} (webhook-id, endpoint) receipts: {verdict}{dupes}"


# --- the measurements of a row -------------------------------------------------------------------


@dataclass
class RowFigures:
    ingest: list[Load] = field(default_factory=list)
    bare: list[Load] = field(default_factory=list)
    ack: Load | None = None
    gateway: list[Load] = field(default_factory=list)
    deliveries: list[float] = field(default_factory=list)
    e2e_p50: float = float("nan")
    e2e_p99: float = float("nan")
    notes: list[str] = field(default_factory=list)


def measure_ingest(row: str, folder: Path, bare_url: str, figures: RowFigures, body: bytes) -> None:
    with deploy(row, folder / "ingest", None) as deployment:
        for round_no in range(ROUNDS):
            pair = [("row", deployment.urls), ("bare", [bare_url])]
            for what, urls in pair if round_no % 2 == 0 else reversed(pair):
                load = closed_loop(urls, EVENTS_PATH, deployment.headers, body, CONNECTIONS, SECONDS)
                (figures.ingest if what == "row" else figures.bare).append(load)
                bad = f" non-2xx {load.not_ok} errors {load.errors}" if load.not_ok or load.errors else ""
                label = LABELS[row] if what == "row" else "bare Starlette"
                print(
                    f"  ingest round {round_no + 1} {label:<24} {load.rate:8,.0f} ev/s  p50 "
                    f"{load.p50_ms:6.2f} ms  p99 {load.p99_ms:7.2f} ms{bad}",
                    flush=True,
                )
        figures.ack, _ = open_loop(
            deployment.urls, deployment.headers, body, ACK_RATE, SECONDS, folder, "ack"
        )
        print(
            f"  ack at {ACK_RATE:,.0f} events/s offered: {figures.ack.rate:,.0f} reached, p50 "
            f"{figures.ack.p50_ms:.2f} ms, p99 {figures.ack.p99_ms:.2f} ms",
            flush=True,
        )
        if deployment.ingest_headers is not None and wrk_available():
            from bench_ingest import bodies

            for round_no in range(ROUNDS):
                load = closed_loop(
                    deployment.urls, "/ingest", deployment.ingest_headers, bodies(1)[0], CONNECTIONS, SECONDS
                )
                figures.gateway.append(load)
                bad = f" non-2xx {load.not_ok} errors {load.errors}" if load.not_ok or load.errors else ""
                print(f"  /ingest round {round_no + 1}: {load.rate:,.0f} ev/s{bad}", flush=True)


def measure_delivery(row: str, folder: Path, consumers: Consumers, figures: RowFigures, body: bytes) -> None:
    consumers.reset()
    with deploy(row, folder / "delivery", consumers.urls()) as deployment:
        _, sends = open_loop(deployment.urls, deployment.headers, body, E2E_RATE, SECONDS, folder, "e2e")
        _, expected = wait_delivered(consumers, deployment)
        receipts = consumers.receipts(folder)
        sent = dict(sends)
        latencies = sorted(r.at - sent[r.correlation] for r in receipts if r.correlation in sent)
        figures.e2e_p50 = percentile(latencies, 50) * 1000
        figures.e2e_p99 = percentile(latencies, 99) * 1000
        note = check(receipts, expected)
        figures.notes.append(f"e2e run: {note}")
        print(
            f"  e2e at {E2E_RATE:g} events/s: ingest -> receipt p50 {figures.e2e_p50:.2f} ms, p99 "
            f"{figures.e2e_p99:.2f} ms over {len(latencies)} receipts; {note}",
            flush=True,
        )
        for round_no in range(ROUNDS):
            consumers.reset()
            before = deployment.stored()
            headers = {**deployment.headers, "X-Correlation-Id": f"sat{round_no}-{{n}}"}
            closed_loop(deployment.urls, EVENTS_PATH, headers, body, 32, SECONDS)
            ended = time.monotonic()
            _, expected = wait_delivered(consumers, deployment, before)
            receipts = consumers.receipts(folder)
            times = sorted(r.at for r in receipts)
            steady_from = ended - SECONDS
            rate = sum(1 for t in times if steady_from <= t < ended) / (ended - steady_from)
            figures.deliveries.append(rate)
            note = check(receipts, expected)
            figures.notes.append(f"delivery round {round_no + 1}: {note}")
            drain = (times[-1] - ended) if times else float("nan")
            print(
                f"  delivery round {round_no + 1}: {rate:,.0f} deliveries/s under load; "
                f"backlog drained {drain:.1f} s after; {note}",
                flush=True,
            )


# --- matching ------------------------------------------------------------------------------------


def matching_rates(passes: int = 5, events: int = 3000) -> dict[int, float]:
    """events/s of `RuleSet.matching` per subscription count (bench_rules.py's patterns and events)."""
    import random

    from bench_rules import make_event, measure_walk

    rng = random.Random(20240501)
    sample = [make_event(rng, i) for i in range(events)]
    walks = measure_walk(sample, passes)
    return {count: 1e6 / statistics.median(walk.matching) for count, walk in walks.items()}


# --- the table -----------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def print_table(figures: dict[str, RowFigures], matching: dict[int, float] | None) -> None:
    print(
        f"\nmedians over {ROUNDS} rounds of {WARMUP:g} s warm-up + {SECONDS:g} s; ingest c={CONNECTIONS} "
        f"({'wrk' if wrk_available() else 'python loadgen'}), bare = one bare Starlette process in the same rounds"
    )
    head = (
        f"{'row':<24}{'ingest/s':>9}{'p50':>7}{'p99':>7}{'bare/s':>8}{'ratio':>7}{'p99@2k':>8}"
        f"{'deliv/s':>9}{'e2e p50':>8}{'e2e p99':>8}{'/ingest':>9}"
    )
    print(head)
    for row, fig in figures.items():
        ingest = median([x.rate for x in fig.ingest])
        bare = median([x.rate for x in fig.bare])
        gateway = median([x.rate for x in fig.gateway]) if fig.gateway else float("nan")
        print(
            f"{LABELS[row]:<24}{ingest:>9,.0f}{median([x.p50_ms for x in fig.ingest]):>7.1f}"
            f"{median([x.p99_ms for x in fig.ingest]):>7.1f}{bare:>8,.0f}{ratio(ingest, bare):>6.2f}x"
            f"{fig.ack.p99_ms if fig.ack else float('nan'):>8.1f}{median(fig.deliveries):>9,.0f}"
            f"{fig.e2e_p50:>8.1f}{fig.e2e_p99:>8.1f}"
            f"{'n/a' if row == 'peer' else f'{gateway:,.0f}':>9}"
        )
    print("(latencies in ms; p99@2k: ack p99 at 2,000 events/s open loop; deliv/s: one event to 3 webhooks)")
    if matching:
        text = ", ".join(f"{count:,} subs {rate:,.0f}" for count, rate in matching.items())
        print(f"matching (RuleSet.matching, in-process, one core): events/s at {text}")
    targets(figures)


def targets(figures: dict[str, RowFigures]) -> None:
    def rate(row: str, what: str) -> float:
        fig = figures.get(row)
        if fig is None:
            return float("nan")
        if what == "ingest":
            return median([x.rate for x in fig.ingest])
        if what == "bare":
            return median([x.rate for x in fig.bare])
        return median(fig.deliveries)

    def line(name: str, value: float, goal: float, detail: str) -> None:
        if math.isnan(value):  # a row not measured
            print(f"target {name}: not measured in this run")
            return
        verdict = "met" if value >= goal else "MISSED"
        print(f"target {name}: {detail} -> {verdict}")

    print()
    one = "sqlite-1"
    r = ratio(rate(one, "ingest"), rate(one, "bare"))
    line(
        "ingest >= 0.5x bare Starlette",
        r,
        0.5,
        f"{rate(one, 'ingest'):,.0f} / {rate(one, 'bare'):,.0f} ev/s = {r:.2f}x",
    )
    r = ratio(rate("sqlite-w2", "delivery"), rate(one, "delivery"))
    line(
        "--workers 2 >= 1.6x one process on delivery",
        r,
        1.6,
        f"{rate('sqlite-w2', 'delivery'):,.0f} / {rate(one, 'delivery'):,.0f} deliveries/s = {r:.2f}x",
    )
    best = max((row for row in figures if row != "peer"), key=lambda row: rate(row, "delivery"), default=one)
    r = ratio(rate(best, "delivery"), rate("peer", "delivery"))
    line(
        ">= 2x the peer on deliveries/s",
        r,
        2.0,
        f"{LABELS[best]} {rate(best, 'delivery'):,.0f} / peer {rate('peer', 'delivery'):,.0f} = {r:.2f}x",
    )
    for row in (one, best) if best != one else (one,):
        r = ratio(rate(row, "ingest"), rate("peer", "ingest"))
        line(
            f">= 1.5x the peer on ingest ({LABELS[row]})",
            r,
            1.5,
            f"{rate(row, 'ingest'):,.0f} / {rate('peer', 'ingest'):,.0f} ev/s = {r:.2f}x",
        )
    fig = figures.get(one)
    if fig is not None and fig.ack is not None:
        ack = fig.ack
        verdict = "met" if ack.p99_ms <= 25 and ack.rate >= 0.95 * ACK_RATE else "MISSED"
        print(
            f"target p99 ack <= 25 ms at 2,000 events/s ({LABELS[one]}): {ack.rate:,.0f} ev/s reached, "
            f"p99 {ack.p99_ms:.1f} ms -> {verdict}"
        )
    for row in ("postgres-1", "postgres-2"):
        r = ratio(rate(row, "ingest"), rate(one, "ingest"))
        line(
            f"PostgreSQL ingest >= 0.5x SQLite's ({LABELS[row]})",
            r,
            0.5,
            f"{rate(row, 'ingest'):,.0f} / {rate(one, 'ingest'):,.0f} ev/s = {r:.2f}x",
        )


# --- the peer's tuning ---------------------------------------------------------------------------

TRIALS = [
    ("prefork", 2, 1),
    ("threads", 16, 4),
    ("threads", 64, 4),
    ("prefork", 2, 16),
    ("prefork", 4, 4),
    ("threads", 32, 4),
    ("threads", 32, 16),
    ("gevent", 64, 4),
    ("gevent", 64, 16),
]


def tune_peer(folder: Path, consumers: Consumers, body: bytes) -> None:
    """Each pool / concurrency / prefetch in TRIALS: deliveries/s under closed-loop load."""
    print("\npeer tuning: deliveries/s at the consumers under closed-loop load (c=32)")
    for pool in TRIALS:
        rates = []
        for round_no in range(ROUNDS):
            consumers.reset()
            with peer(
                folder / f"tune-{pool[0]}-{pool[1]}-{pool[2]}-{round_no}", consumers.urls(), pool
            ) as dep:
                closed_loop(dep.urls, EVENTS_PATH, dep.headers, body, 32, SECONDS)
                ended = time.monotonic()
                times = sorted(r.at for r in consumers.receipts(folder))
                rates.append(sum(1 for t in times if ended - SECONDS <= t < ended) / SECONDS)
        print(
            f"  pool {pool[0]:<8} concurrency {pool[1]:>3} prefetch {pool[2]:>3}: {median(rates):,.0f} deliveries/s"
        )


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    parser.add_argument("--skip", nargs="*", choices=["ingest", "delivery", "matching"], default=[])
    parser.add_argument("--tune-peer", action="store_true", help="only the peer's pool/prefetch trials")
    args = parser.parse_args()
    body = cxone_body()
    if "peer" in args.rows or args.tune_peer:
        ensure_peer_venv()
    figures: dict[str, RowFigures] = {}
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp,
        Consumers(ENDPOINTS) as consumers,
        bare_server("starlette") as (_, bare_url),
    ):
        folder = Path(tmp)
        if args.tune_peer:
            tune_peer(folder, consumers, body)
            return
        for row in args.rows:
            row_started = time.monotonic()
            print(f"\n--- {LABELS[row]}", flush=True)
            fig = figures[row] = RowFigures()
            place = folder / row
            place.mkdir()
            if "ingest" not in args.skip:
                measure_ingest(row, place, bare_url, fig, body)
            if "delivery" not in args.skip:
                measure_delivery(row, place, consumers, fig, body)
            print(f"  ({LABELS[row]} took {time.monotonic() - row_started:.0f} s)", flush=True)
    matching = None if "matching" in args.skip else matching_rates()
    print_table(figures, matching)
    print(f"\nbench_scale took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
