"""Fast webhook consumers for the delivery benches, in their own process.

One uvloop event loop, raw asyncio Protocols and httptools (far cheaper than the server under test),
listening on `--endpoints` loopback ports. Every complete request is answered `200 ok` and recorded
as (time.monotonic() at receipt, endpoint index, X-Correlation-Id, webhook-id). time.monotonic() is
CLOCK_MONOTONIC, one clock for every process on the machine, so receipts compare with send times
taken by bench/loadgen.py.

Control over stdin/stdout, one line each: the process prints `{"ports": [...]}` when listening;
`count` answers the number of records; `dump PATH` writes them as TSV and answers `ok`; `reset`
forgets them; end of stdin stops the process. `Consumers` drives it from a bench script.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
Record = tuple[float, int, bytes, bytes]


class _Consumer(asyncio.Protocol):
    def __init__(self, endpoint: int, records: list[Record]) -> None:
        import httptools

        self.endpoint = endpoint
        self.records = records
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.correlation = b""
        self.webhook_id = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except Exception:
            if self.transport is not None:
                self.transport.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"x-correlation-id":
            self.correlation = value
        elif lowered == b"webhook-id":
            self.webhook_id = value

    def on_message_complete(self) -> None:
        self.records.append((time.monotonic(), self.endpoint, self.correlation, self.webhook_id))
        self.correlation = self.webhook_id = b""
        if self.transport is not None:
            self.transport.write(RESPONSE)


def _dump(path: str, records: list[Record]) -> None:
    with open(path, "w", encoding="ascii") as out:
        for at, endpoint, correlation, webhook_id in records:
            out.write(f"{at:.6f}\t{endpoint}\t{correlation.decode()}\t{webhook_id.decode()}\n")


async def _serve(endpoints: int) -> None:
    loop = asyncio.get_running_loop()
    records: list[Record] = []
    ports = []
    for index in range(endpoints):
        server = await loop.create_server(
            lambda i=index: _Consumer(i, records),  # type: ignore[misc]
            "127.0.0.1",
            0,
            backlog=4096,
        )
        ports.append(server.sockets[0].getsockname()[1])
    print(json.dumps({"ports": ports}), flush=True)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        command, _, arg = line.strip().partition(" ")
        if command == "count":
            answer = str(len(records))
        elif command == "reset":
            records.clear()
            answer = "ok"
        elif command == "dump":
            _dump(arg, list(records))
            answer = "ok"
        else:
            answer = f"unknown command {command!r}"
        print(answer, flush=True)


@dataclass(frozen=True, slots=True)
class Receipt:
    at: float
    endpoint: int
    correlation: str
    webhook_id: str


class Consumers:
    """The consumer process: `with Consumers(3) as c: c.urls; c.count(); c.receipts()`."""

    def __init__(self, endpoints: int = 3) -> None:
        self.endpoints = endpoints
        self.process: subprocess.Popen[str] | None = None
        self.ports: list[int] = []

    def __enter__(self) -> Consumers:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--endpoints", str(self.endpoints)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ports = json.loads(self._readline())["ports"]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def urls(self, path: str = "/hook") -> list[str]:
        return [f"http://127.0.0.1:{port}{path}" for port in self.ports]

    def _readline(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the consumer process exited")
        return line

    def _command(self, line: str) -> str:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self._readline().strip()

    def count(self) -> int:
        return int(self._command("count"))

    def reset(self) -> None:
        self._command("reset")

    def receipts(self, folder: Path) -> list[Receipt]:
        path = folder / "receipts.tsv"
        self._command(f"dump {path}")
        out = []
        for line in path.read_text(encoding="ascii").splitlines():
            at, endpoint, correlation, webhook_id = line.split("\t")
            out.append(Receipt(float(at), int(endpoint), correlation, webhook_id))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=3)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(_serve(args.endpoints))
    except ImportError:  # pragma: no cover
        asyncio.run(_serve(args.endpoints))


if __name__ == "__main__":
    main()
