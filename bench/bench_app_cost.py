"""CPU per event of `POST /api/v2/eventbridge/events` inside the ASGI app, beside the bare endpoint.

Why CPU time and not events/s: on a shared 2-core machine a closed-loop rate swings with whatever
else runs, but the CPU a request costs does not. This drives the apps in-process (no sockets, no
HTTP parsing: what uvicorn adds is the same for both and measured by the HTTP benches) with `-c`
concurrent callers, and reads `time.thread_time()` of the event loop's thread and
`time.process_time()` of the whole process (the loop plus the SQLite writer thread) per request.

* ccbridge: the app `ccbridge serve` builds (`bootstrap.build`), SQLite store in a temporary
  folder, lifespan run, a bearer token from its own token route, wrapped in uvicorn's
  ProxyHeadersMiddleware as uvicorn serves it; the same CXone body as the HTTP benches.
* bare: bench/bare_server.py's Starlette app (parse the JSON, answer 201), same wrapping and body.

Every request must answer 201 (checked). Medians over `-r` rounds of `-n` requests each.

    .venv/bin/python bench/bench_app_cost.py            # -n 10000 -r 5 -c 64
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import uvloop
from bare_server import starlette_app
from support import cxone_body
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from ccbridge.bootstrap import build
from ccbridge.config.load import load_config
from ccbridge.testing.server import CLIENT_ID, CLIENT_SECRET, free_port, write_config

PATH = "/api/v2/eventbridge/events"
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def scope_for(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def measure(
    app: App, headers: list[tuple[bytes, bytes]], body: bytes, n: int, c: int
) -> tuple[float, float]:
    """(loop-thread us, process us) per request over `n` requests from `c` concurrent callers."""
    statuses: dict[int, int] = {}
    template = scope_for(headers)
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            statuses[event["status"]] = statuses.get(event["status"], 0) + 1

    async def caller(count: int) -> None:
        for _ in range(count):
            await app(dict(template, headers=list(headers)), receive, send)

    loop0, proc0 = time.thread_time(), time.process_time()
    await asyncio.gather(*(caller(n // c) for _ in range(c)))
    loop_cpu, proc_cpu = time.thread_time() - loop0, time.process_time() - proc0
    done = sum(statuses.values())
    if statuses.get(201) != done or done != (n // c) * c:
        raise SystemExit(f"unexpected answers: {statuses}")
    return loop_cpu / done * 1e6, proc_cpu / done * 1e6


def ccbridge_app(folder: Path) -> tuple[Any, App]:
    """(the FastAPI app, whose lifespan opens the store; the stack `serve` gives uvicorn)."""
    config = load_config(write_config(folder, {"delivery": {"poll_interval_ms": 250}}, free_port()))
    runtime = build(config)
    inner = runtime.app
    while not hasattr(inner, "router"):  # the middlewares around the FastAPI app
        inner = inner.app
    return inner, ProxyHeadersMiddleware(runtime.app, trusted_hosts="127.0.0.1")


async def run(n: int, rounds: int, c: int) -> None:
    body = cxone_body()
    base = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    bare = ProxyHeadersMiddleware(starlette_app(), trusted_hosts="127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="ccbridge-app-cost-") as tmp:
        inner, app = ccbridge_app(Path(tmp))
        async with inner.router.lifespan_context(inner):
            transport = httpx.ASGITransport(app=inner)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                answer = await client.post(
                    "/api/v2/oauth/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                    },
                )
                answer.raise_for_status()
            headers = [*base, (b"authorization", f"Bearer {answer.json()['access_token']}".encode())]
            results: dict[str, list[tuple[float, float]]] = {"ccbridge": [], "bare": []}
            await measure(app, headers, body, min(n, 2000), c)  # warm-up
            await measure(bare, headers, body, min(n, 2000), c)
            for _ in range(rounds):  # interleaved, so drift hits both alike
                results["ccbridge"].append(await measure(app, headers, body, n, c))
                results["bare"].append(await measure(bare, headers, body, n, c))
    print(f"medians over {rounds} rounds of {n} requests, c={c}; CPU microseconds per request")
    print(f"{'target':10} {'loop thread':>12} {'process':>9}")
    medians = {}
    for name, values in results.items():
        loop_us = statistics.median(v[0] for v in values)
        proc_us = statistics.median(v[1] for v in values)
        medians[name] = (loop_us, proc_us)
        print(f"{name:10} {loop_us:12.1f} {proc_us:9.1f}")
    extra = medians["ccbridge"][0] - medians["bare"][0]
    print(f"ccbridge's app: {extra:.1f} us more of the event loop per event than the bare endpoint")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="requests per round")
    parser.add_argument("-r", "--rounds", type=int, default=5)
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    args = parser.parse_args()
    uvloop.run(run(args.n, args.rounds, args.concurrency))


if __name__ == "__main__":
    main()
