"""httpx.AsyncClient against aiohttp.ClientSession for the webhook transport's job.

The job: many concurrent POSTs of a ~1 KB JSON body to one host, keep-alive, read a tiny answer.
The receiver runs in a separate process (a raw asyncio + httptools server, far faster than either
client, so it is not the bottleneck) so client and server never share an event loop. Rounds are
interleaved (client order alternates each round) so drift on a shared machine hits both alike.

    .venv/bin/python bench/bench_http_clients.py          # 20,000 requests, c=10,100,500, 3 rounds
    .venv/bin/python bench/bench_http_clients.py -n 5000 -c 10 100 -r 2

Prints one line per run and, at the end, requests/s medians per (client, concurrency) and the
aiohttp/httpx ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import orjson

try:
    import uvloop

    LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
    LOOP_FACTORY = None

BODY = orjson.dumps({"id": "evt_" + "x" * 20, "event": "bench.test", "data": {"pad": "y" * 900}})
T = TypeVar("T")
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


# --- the receiver (its own process) ----------------------------------------------------------------


class _Receiver(asyncio.Protocol):
    """Answers every complete HTTP/1.1 request with 200 `{}`, keeping the connection open."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except Exception:
            if self.transport is not None:
                self.transport.close()

    def on_message_complete(self) -> None:
        if self.transport is not None:
            self.transport.write(RESPONSE)


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Receiver, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # exit when the parent closes our stdin


# --- the clients -----------------------------------------------------------------------------------

Post = Callable[[], Awaitable[None]]


async def _drive(post: Post, total: int, concurrency: int) -> float:
    """Runs `total` posts with `concurrency` workers; returns requests per second."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await post()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - started)


async def _run_httpx(url: str, total: int, concurrency: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def post() -> None:
            response = await client.post(url, content=BODY, headers=headers)
            assert response.status_code == 200

        await _drive(post, min(total // 10, 1000), concurrency)  # warm-up: open the pool
        return await _drive(post, total, concurrency)


async def _run_aiohttp(url: str, total: int, concurrency: int) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    headers = {"Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=30.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def post() -> None:
            async with session.post(url, data=BODY, headers=headers) as response:
                await response.read()
                assert response.status == 200

        await _drive(post, min(total // 10, 1000), concurrency)
        return await _drive(post, total, concurrency)


CLIENTS: dict[str, Callable[[str, int, int], Coroutine[Any, Any, float]]] = {
    "httpx": _run_httpx,
    "aiohttp": _run_aiohttp,
}


def _run(coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        return runner.run(coro)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--requests", type=int, default=20_000)
    parser.add_argument("-c", "--concurrency", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("-r", "--rounds", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _run(_serve())
        return

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}/hook"
        print(f"body {len(BODY)} B, {args.requests} requests/run, uvloop={'yes' if LOOP_FACTORY else 'no'}")
        results: dict[tuple[str, int], list[float]] = {}
        for round_no in range(args.rounds):
            order = list(CLIENTS) if round_no % 2 == 0 else list(reversed(CLIENTS))
            for concurrency in args.concurrency:
                for name in order:
                    rps = _run(CLIENTS[name](url, args.requests, concurrency))
                    results.setdefault((name, concurrency), []).append(rps)
                    print(f"round {round_no + 1} c={concurrency:<4} {name:<8} {rps:9.0f} req/s", flush=True)
        print("\nmedians (requests/s)")
        print(f"{'concurrency':>11} {'httpx':>9} {'aiohttp':>9} {'aiohttp/httpx':>14}")
        for concurrency in args.concurrency:
            h = statistics.median(results[("httpx", concurrency)])
            a = statistics.median(results[("aiohttp", concurrency)])
            print(f"{concurrency:>11} {h:9.0f} {a:9.0f} {a / h:13.2f}x")
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
