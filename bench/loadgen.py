"""HTTP/1.1 keep-alive load generators for the benches: `wrk` when installed, else a Python one.

Both run as a separate process from the server under test and from the bench script, so the
generator never shares an event loop (or a GIL) with what it measures.

* Python (`python bench/loadgen.py ...`): uvloop + raw asyncio Protocols + httptools' response
  parser; N connections, one request in flight per connection (no pipelining), request bytes
  precomputed from a template. A `{n}` in the template (headers only: Content-Length is fixed) is
  replaced by the request's sequence number, for unique idempotency keys or correlation ids.
  Closed loop by default (each connection sends its next request as soon as the answer is in);
  `--rate R` is open loop (R requests/s on a fixed schedule, spread over idle connections).
  Requests answered during the warm-up are not measured; after the window no new request is sent
  and the in-flight ones are drained, so `statuses` counts every answer the server gave.
  `--sends-out FILE` writes each request's send time (time.monotonic(), float64 per sequence number
  from `--first-n`) so another process can compute end-to-end latencies.
* wrk (`run_wrk`, Debian package `wrk`; one thread by default, wrk needs far less CPU than Python
  for the same load): a Lua script sets method, headers and body; `{n}` in a header value becomes
  `<run>.<thread>.<counter>`; `done()` prints requests, errors and latency percentiles as JSON.
  Durations are whole seconds. wrk drops the requests in flight when its duration ends, so up to
  `connections` requests per run may have been processed by the server without being counted.

    .venv/bin/python bench/loadgen.py --port 8080 --template req.http -c 64 -d 3 --warmup 1
"""

from __future__ import annotations

import argparse
import array
import asyncio
import collections
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

try:
    import uvloop

    LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
    LOOP_FACTORY = None

PLACEHOLDER = b"{n}"
DRAIN_SECONDS = 30.0


@dataclass
class Result:
    """One measurement. Rates and percentiles cover the window only; the counts cover the whole run."""

    tool: str
    connections: int
    window: float
    completed: int
    rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    ok: int  # 2xx answers over the whole run (warm-up and drain included)
    not_ok: int  # answers that were not 2xx
    errors: int  # connection errors / timeouts
    statuses: dict[str, int] = field(default_factory=dict)
    late: int = 0  # open loop: sends that found no idle connection and went out late

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Result:
        return cls(**json.loads(text))


def request_template(
    method: str, path: str, host: str, headers: Mapping[str, str], body: bytes = b""
) -> bytes:
    """A raw HTTP/1.1 request (keep-alive); header values may hold `{n}`."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if PLACEHOLDER in body:
        raise ValueError("{n} is only allowed in headers (Content-Length is precomputed)")
    return head + body


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    rank = math.ceil(q / 100 * len(ordered))  # nearest-rank
    return ordered[min(len(ordered), max(rank, 1)) - 1]


# --- the Python generator --------------------------------------------------------------------------


class _Conn(asyncio.Protocol):
    def __init__(self, gen: _Generator) -> None:
        import httptools

        self.gen = gen
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0.0
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except Exception:
            self.gen.failed(self)
            if self.transport is not None:
                self.transport.close()

    def on_message_complete(self) -> None:
        self.busy = False
        self.gen.completed(self, self.parser.get_status_code(), time.monotonic())

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.busy:
            self.busy = False
            self.gen.failed(self)
        self.gen.lost(self)

    def send(self, data: bytes, now: float) -> None:
        assert self.transport is not None
        self.sent_at = now
        self.busy = True
        self.transport.write(data)


class _Generator:
    def __init__(
        self,
        template: bytes,
        warmup: float,
        duration: float,
        rate: float | None,
        first_n: int,
        record_sends: bool,
    ) -> None:
        self.parts = template.split(PLACEHOLDER)
        self.n = first_n
        self.first_n = first_n
        self.warmup, self.duration, self.rate = warmup, duration, rate
        self.window_start = self.window_end = 0.0
        self.latencies = array.array("d")
        self.statuses: collections.Counter[int] = collections.Counter()
        self.errors = 0
        self.late = 0
        self.sends = array.array("d") if record_sends else None
        self.conns: list[_Conn] = []
        self.idle: collections.deque[_Conn] = collections.deque()
        self.idle_event = asyncio.Event()
        self.all_idle = asyncio.Event()
        self.stopping = False

    def next_request(self, now: float) -> bytes:
        n = self.n
        self.n += 1
        if self.sends is not None:
            self.sends.append(now)
        if len(self.parts) == 1:
            return self.parts[0]
        return (b"%d" % n).join(self.parts)

    def completed(self, conn: _Conn, status: int, now: float) -> None:
        self.statuses[status] += 1
        if self.window_start <= now < self.window_end:
            self.latencies.append(now - conn.sent_at)
        self.release(conn, now)

    def failed(self, conn: _Conn) -> None:
        self.errors += 1

    def lost(self, conn: _Conn) -> None:
        if conn in self.conns:
            self.conns.remove(conn)
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)
        self._check_idle()

    def release(self, conn: _Conn, now: float) -> None:
        if self.rate is None and not self.stopping and now < self.window_end and conn.transport is not None:
            conn.send(self.next_request(now), now)
            return
        self.idle.append(conn)
        self.idle_event.set()
        self._check_idle()

    def _check_idle(self) -> None:
        if self.stopping and not any(c.busy for c in self.conns):
            self.all_idle.set()

    async def run(self, host: str, port: int, connections: int) -> Result:
        loop = asyncio.get_running_loop()
        for _ in range(connections):
            _, conn = await loop.create_connection(lambda: _Conn(self), host, port)
            self.conns.append(conn)
        start = time.monotonic()
        self.window_start = start + self.warmup
        self.window_end = self.window_start + self.duration
        if self.rate is None:
            for conn in list(self.conns):
                now = time.monotonic()
                conn.send(self.next_request(now), now)
            await asyncio.sleep(max(0.0, self.window_end - time.monotonic()))
        else:
            self.idle.extend(self.conns)
            await self._open_loop(start, self.rate)
        self.stopping = True
        self._check_idle()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_idle.wait(), DRAIN_SECONDS)
        self.errors += sum(1 for c in self.conns if c.busy)
        for conn in self.conns:
            if conn.transport is not None:
                conn.transport.close()
        return self.result(connections)

    async def _open_loop(self, start: float, rate: float) -> None:
        k = 0
        while True:
            due = start + k / rate
            if due >= self.window_end:
                return
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.idle:
                self.late += 1
            while not self.idle:
                if not self.conns:
                    return
                self.idle_event.clear()
                await self.idle_event.wait()
            conn = self.idle.popleft()
            now = time.monotonic()
            conn.send(self.next_request(now), now)
            k += 1

    def result(self, connections: int) -> Result:
        ordered = sorted(self.latencies)
        ok = sum(v for s, v in self.statuses.items() if 200 <= s < 300)
        return Result(
            tool="python",
            connections=connections,
            window=self.duration,
            completed=len(ordered),
            rate=len(ordered) / self.duration,
            p50_ms=percentile(ordered, 50) * 1000,
            p90_ms=percentile(ordered, 90) * 1000,
            p99_ms=percentile(ordered, 99) * 1000,
            max_ms=(ordered[-1] if ordered else float("nan")) * 1000,
            ok=ok,
            not_ok=sum(self.statuses.values()) - ok,
            errors=self.errors,
            statuses={str(s): v for s, v in sorted(self.statuses.items())},
            late=self.late,
        )


def run_python_inline(
    host: str,
    port: int,
    template: bytes,
    connections: int,
    duration: float,
    warmup: float = 1.0,
    rate: float | None = None,
    first_n: int = 0,
    sends_out: str | None = None,
) -> Result:
    """Runs the Python generator in this process (the CLI's body)."""

    async def go() -> tuple[Result, array.array[float] | None]:
        gen = _Generator(template, warmup, duration, rate, first_n, sends_out is not None)
        return await gen.run(host, port, connections), gen.sends

    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        result, sends = runner.run(go())
    if sends_out is not None and sends is not None:
        with open(sends_out, "wb") as out:
            sends.tofile(out)
    return result


def run_python(
    host: str,
    port: int,
    template: bytes,
    connections: int,
    duration: float,
    warmup: float = 1.0,
    rate: float | None = None,
    first_n: int = 0,
    sends_out: str | None = None,
) -> Result:
    """Runs the Python generator as a child process and returns its result."""
    with tempfile.NamedTemporaryFile("wb", suffix=".http", delete=False) as tmp:
        tmp.write(template)
    try:
        cmd = [
            sys.executable,
            __file__,
            "--host",
            host,
            "--port",
            str(port),
            "--template",
            tmp.name,
            "-c",
            str(connections),
            "-d",
            str(duration),
            "--warmup",
            str(warmup),
            "--first-n",
            str(first_n),
        ]
        if rate is not None:
            cmd += ["--rate", str(rate)]
        if sends_out is not None:
            cmd += ["--sends-out", sends_out]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=duration + warmup + 120)
        return Result.from_json(out.stdout.strip().splitlines()[-1])
    finally:
        os.unlink(tmp.name)


def read_sends(path: str) -> array.array[float]:
    sends = array.array("d")
    with open(path, "rb") as src:
        sends.frombytes(src.read())
    return sends


# --- wrk -----------------------------------------------------------------------------------------


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


WRK_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def wrk_script(method: str, headers: Mapping[str, str], body: bytes) -> str:
    """A wrk Lua script; a header value holding `{n}` gets a unique `<run>.<thread>.<counter>`."""
    lines = [f"wrk.method = {_lua_string(method)}", f"wrk.body = {_lua_string(body.decode())}"]
    dynamic = {k: v for k, v in headers.items() if "{n}" in v}
    for name, value in headers.items():
        if name not in dynamic:
            lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    if dynamic:
        lines += [
            "local next_id = 1",
            "function setup(thread) thread:set('tid', next_id); next_id = next_id + 1 end",
            "function init(args) run = args[1] or 'x' end",
            "local counter = 0",
            "function request()",
            "  counter = counter + 1",
            "  local h = {}",
            "  for k, v in pairs(wrk.headers) do h[k] = v end",
        ]
        for name, value in dynamic.items():
            before, after = value.split("{n}", 1)
            unique = f"{_lua_string(before)} .. run .. '.' .. tid .. '.' .. counter .. {_lua_string(after)}"
            lines.append(f"  h[{_lua_string(name)}] = {unique}")
        lines += ["  return wrk.format(nil, nil, h, nil)", "end"]
    return "\n".join(lines) + "\n" + WRK_DONE


def run_wrk(
    url: str,
    method: str,
    headers: Mapping[str, str],
    body: bytes,
    connections: int,
    duration: float,
    warmup: float = 1.0,
    threads: int = 1,
) -> Result:
    """Warm-up run, then the measured run (whole seconds); `ok` adds both (wrk counts non-2xx/3xx
    answers as status errors)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as tmp:
        tmp.write(wrk_script(method, headers, body))
    try:
        runs: list[dict[str, Any]] = []
        for seconds in (warmup, duration):
            if seconds <= 0:
                continue
            whole = f"{max(1, round(seconds))}s"  # wrk takes whole seconds
            cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", whole, "--timeout", "10s"]
            cmd += ["-s", tmp.name, url, "--", f"{os.getpid()}-{time.monotonic_ns()}"]  # {n}: unique per run
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 60)
            line = next(x for x in out.stdout.splitlines() if x.startswith("WRKJSON "))
            runs.append(json.loads(line.removeprefix("WRKJSON ")))
    finally:
        os.unlink(tmp.name)
    last = runs[-1]
    window = last["duration_us"] / 1e6
    errors = sum(r["connect"] + r["read"] + r["write"] + r["timeout"] for r in runs)
    not_ok = sum(r["status"] for r in runs)
    ok = sum(r["requests"] for r in runs) - not_ok
    return Result(
        tool="wrk",
        connections=connections,
        window=window,
        completed=last["requests"],
        rate=last["requests"] / window,
        p50_ms=last["p50"] / 1000,
        p90_ms=last["p90"] / 1000,
        p99_ms=last["p99"] / 1000,
        max_ms=last["max"] / 1000,
        ok=ok,
        not_ok=not_ok,
        errors=errors,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--template", required=True, help="file with the raw request ({n} allowed in headers)"
    )
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("-d", "--duration", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rate", type=float, help="open loop: requests per second")
    parser.add_argument("--first-n", type=int, default=0)
    parser.add_argument("--sends-out", help="write each request's send time (float64, monotonic)")
    args = parser.parse_args()
    with open(args.template, "rb") as src:
        template = src.read()
    result = run_python_inline(
        args.host,
        args.port,
        template,
        args.connections,
        args.duration,
        args.warmup,
        args.rate,
        args.first_n,
        args.sends_out,
    )
    print(result.to_json(), flush=True)


if __name__ == "__main__":
    main()
