"""`/ingest` throughput with ES256 tokens (issue 6 target: >= 3,000 events/s).

Two measurements, each with a fresh token per request (every request pays a full ES256 signature
check) and with one token reused (the verified-token cache's case):

* `gateway`: `IngestGateway.handle()` in-process with an in-memory append: the gateway's own cost
  (JWT, JSON, match, JSON Schema, mapping, event) without HTTP or the store.
* `http`: `POST /ingest` on a real `ccbridge serve` child process (SQLite store), driven by
  `--concurrency` aiohttp connections from this process; skipped when the server has no /ingest.
  Then once more with wrk (a reused token, a new Idempotency-Key per request), which takes far less
  of the two cores than the Python driver.

    .venv/bin/python bench/bench_ingest.py                 # both, 10,000 requests each
    .venv/bin/python bench/bench_ingest.py --only gateway -n 20000
    .venv/bin/python bench/bench_ingest.py --only ratelimit --rounds 5   # the rate limit's cost

`ratelimit` (not part of the default run), on SQLite and on PostgreSQL: `take_rate_token` alone (one
key, every call admitted), then `POST /ingest` under wrk with one reused token (one subject, so every
check hits the same row) without `ingest.rate_limit` and with one set so high nothing is refused
(every request still takes a token from the store); the two alternate for `--rounds` rounds, each on
a fresh server and store, and the medians print.

Prints one line per figure: `ingest <where> <tokens>: N events/s`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from ccbridge.ingest import IngestGateway, compile_ingest
from ccbridge.ingest.testing import LegacyIssuer, MemoryAppend, orders_source

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["transaction_id", "event_type", "amount", "currency", "timestamp"],
    "properties": {"amount": {"type": "number"}, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}},
}
SECTION: dict[str, Any] = {
    "jwt": {"public_key_files": ["keys/erp-ec.pem"], "issuer": "legacy-erp", "audience": "ccbridge"},
    "sources": [orders_source()],
}


class WallClock:
    def now(self) -> float:
        return time.time()


def prepare(folder: Path) -> LegacyIssuer:
    """Write the key and schema the section names into `folder`; the issuer signs the tokens."""
    issuer = LegacyIssuer("ES256")
    issuer.write_pem(folder / "keys" / "erp-ec.pem")
    (folder / "schemas").mkdir(exist_ok=True)
    (folder / "schemas" / "legacy-order.json").write_bytes(orjson.dumps(SCHEMA))
    return issuer


def bodies(n: int) -> list[bytes]:
    return [
        orjson.dumps(
            {
                "transaction_id": f"T-{i}-{time.time_ns()}",
                "event_type": "order_created",
                "amount": 10.5,
                "currency": "EUR",
                "timestamp": "2024-05-01T14:00:00+02:00",
            }
        )
        for i in range(n)
    ]


def tokens(issuer: LegacyIssuer, n: int, fresh: bool) -> list[str]:
    """`n` Authorization values: all different (`fresh`, distinct jti) or one repeated."""
    if not fresh:
        return [f"Bearer {issuer.token(exp=int(time.time()) + 3600)}"] * n
    return [f"Bearer {issuer.token(exp=int(time.time()) + 3600, jti=str(i))}" for i in range(n)]


async def bench_gateway(n: int, fresh: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        issuer = prepare(Path(tmp))
        gateway = IngestGateway(compile_ingest(SECTION, tmp), MemoryAppend(), WallClock())
        auth, payloads = tokens(issuer, n, fresh), bodies(n)
        started = time.perf_counter()
        for header, body in zip(auth, payloads, strict=True):
            await gateway.handle({"authorization": header}, body)
        elapsed = time.perf_counter() - started
        await gateway.aclose()
    return n / elapsed


async def _drive(url: str, auth: list[str], payloads: list[bytes], concurrency: int) -> float:
    import aiohttp

    queue = iter(zip(auth, payloads, strict=True))
    failures: list[int] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        for header, body in queue:
            headers = {"Authorization": header, "Content-Type": "application/json"}
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 202:
                    failures.append(response.status)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return len(payloads) / elapsed


async def bench_http(n: int, fresh: bool, concurrency: int) -> float | None:
    """events/s of POST /ingest on a child-process server; None when the server has no /ingest."""
    import httpx

    from ccbridge.testing.server import kill, start_process

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        issuer = prepare(folder)
        server = start_process(folder, {"ingest": SECTION, "logging": {"level": "warning"}})
        try:
            url = server.base_url + "/ingest"
            async with httpx.AsyncClient() as probe:
                if (await probe.post(url, content=b"{}")).status_code == 404:
                    return None
            await _drive(url, tokens(issuer, 200, fresh), bodies(200), concurrency)  # warm-up
            return await _drive(url, tokens(issuer, n, fresh), bodies(n), concurrency)
        finally:
            kill(server, 15)


async def bench_http_wrk(seconds: float, connections: int) -> float | None:
    """events/s of POST /ingest driven by wrk (C, one thread: it leaves the server more of the two
    cores than the Python driver) with one reused token; each request has its own Idempotency-Key,
    so every one stores a new event. None without wrk."""
    return await bench_wrk_once(False, "sqlite", seconds, connections)


UNLIMITED = {"per_subject_per_second": 1e9, "burst": 1_000_000_000}
POSTGRES = os.environ.get("CCBRIDGE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def bench_wrk_once(limited: bool, backend: str, seconds: float, connections: int) -> float | None:
    """events/s of one wrk run on a fresh server (`backend` sqlite or postgres), with or without a
    rate limit that admits everything; None without wrk."""
    import asyncpg
    from loadgen import run_wrk, wrk_available

    from ccbridge.testing.server import kill, start_process

    if not wrk_available():
        return None
    section = {**SECTION, "rate_limit": UNLIMITED} if limited else SECTION
    overrides: dict[str, Any] = {"ingest": section, "logging": {"level": "warning"}}
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    if backend == "postgres":
        overrides["store"] = {"url": POSTGRES, "postgres_schema": schema}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        issuer = prepare(folder)
        server = start_process(folder, overrides)
        try:
            headers = {
                "Authorization": tokens(issuer, 1, fresh=False)[0],
                "Content-Type": "application/json",
                "Idempotency-Key": "bench-{n}",
            }
            result = run_wrk(server.base_url + "/ingest", "POST", headers, bodies(1)[0], connections, seconds)
            if result.not_ok or result.errors:
                raise RuntimeError(f"{result.not_ok} answers were not 2xx, {result.errors} socket errors")
            return result.rate
        finally:
            kill(server, 15)
            if backend == "postgres":
                conn = await asyncpg.connect(POSTGRES)
                try:
                    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                finally:
                    await conn.close()


async def bench_take_token(backend: str, n: int, concurrency: int) -> float:
    """`take_rate_token` calls/s on one key (every one admitted), from `concurrency` tasks of this
    process on a fresh store: the check's own cost, without HTTP."""
    import asyncpg

    from ccbridge.core.routing import SubscriptionRouter
    from ccbridge.stores.postgres import PostgresStore
    from ccbridge.stores.sqlite import SqliteStore

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory() as tmp:
        store: SqliteStore | PostgresStore = (
            SqliteStore(str(Path(tmp) / "limits.db"), SubscriptionRouter())
            if backend == "sqlite"
            else PostgresStore(POSTGRES, SubscriptionRouter(), schema=schema)
        )
        await store.open()
        try:
            left = iter(range(n))
            per_second, burst = UNLIMITED["per_subject_per_second"], int(UNLIMITED["burst"])

            async def worker() -> None:
                for _ in left:
                    if await store.take_rate_token("ingest:bench", per_second, burst) != 0.0:
                        raise RuntimeError("refused")

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        finally:
            await store.close()
            if backend == "postgres":
                conn = await asyncpg.connect(POSTGRES)
                try:
                    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                finally:
                    await conn.close()
    return n / elapsed


async def bench_rate_limit_cost(seconds: float, connections: int, rounds: int) -> None:
    """Prints, per backend, the check's own rate, then the median events/s without and with
    `ingest.rate_limit` and the change."""
    for backend in ("sqlite", "postgres"):
        checks = statistics.median(
            [await bench_take_token(backend, 5000, connections) for _ in range(rounds)]
        )
        print(
            f"ingest rate limit on {backend}: take_rate_token {checks:,.0f} checks/s"
            f" ({connections} tasks, one key, median of {rounds})",
            flush=True,
        )
        figures: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(rounds):
            for limited in (False, True):
                rate = await bench_wrk_once(limited, backend, seconds, connections)
                if rate is None:
                    print("ingest rate limit cost: skipped (no wrk)", flush=True)
                    return
                figures[limited].append(rate)
        plain, limited_rate = statistics.median(figures[False]), statistics.median(figures[True])
        runs = ", ".join(f"{a:,.0f}/{b:,.0f}" for a, b in zip(figures[False], figures[True], strict=True))
        print(
            f"ingest POST /ingest on {backend}, wrk -c {connections} for {seconds:.0f} s, median of {rounds}:"
            f" {plain:,.0f} events/s without rate_limit, {limited_rate:,.0f} with"
            f" ({(limited_rate / plain - 1) * 100:+.1f}%; rounds without/with: {runs})",
            flush=True,
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="requests per figure")
    parser.add_argument("-c", "--concurrency", type=int, default=64, help="HTTP connections")
    parser.add_argument("--only", choices=["gateway", "http", "ratelimit"], help="run one measurement only")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the ratelimit measurement")
    args = parser.parse_args()
    if args.only == "ratelimit":
        await bench_rate_limit_cost(args.seconds, args.concurrency, args.rounds)
        return
    runs: list[tuple[str, Callable[[bool], Awaitable[float | None]]]] = []
    if args.only in (None, "gateway"):
        runs.append(("gateway.handle()", lambda fresh: bench_gateway(args.n, fresh)))
    if args.only in (None, "http"):
        runs.append(("POST /ingest", lambda fresh: bench_http(args.n, fresh, args.concurrency)))
    for where, run in runs:
        for fresh in (True, False):
            rate = await run(fresh)
            kind = "fresh token per request" if fresh else "one reused token"
            figure = "skipped (no /ingest route on the server)" if rate is None else f"{rate:,.0f} events/s"
            print(f"ingest {where} ES256, {kind}: {figure}", flush=True)
    if args.only in (None, "http"):
        rate = await bench_http_wrk(args.seconds, args.concurrency)
        figure = "skipped (no wrk)" if rate is None else f"{rate:,.0f} events/s"
        print(
            f"ingest POST /ingest ES256, one reused token, wrk for {args.seconds:.0f} s: {figure}", flush=True
        )


if __name__ == "__main__":
    asyncio.run(main())
