"""Hostile connections against a real server over loopback sockets (`api.connections`): deadlines,
header limits, the connection cap, problem+json for the protocol's own answers, and a client that
leaves mid-body. Timeouts are set small through `server:` so each case ends in a second or two;
the tests wait for the server to act with generous deadlines and never assert durations."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccbridge.testing.server import RunningServer, kill, running_server, start_process, wait_until

QUICK = {
    "server": {
        "header_timeout_seconds": 1,
        "body_timeout_seconds": 1,
        "min_body_bytes_per_second": 1000,
    }
}
DEADLINE = 30.0  # how long a test waits for the server to close or answer; never a figure asserted
EVENTS = "/api/v2/eventbridge/events"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"] == "application/problem+json", self.headers
        body: dict[str, Any] = json.loads(self.body)
        assert body["status"] == self.status
        return body


def parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body)


@contextlib.asynccontextmanager
async def connection(srv: RunningServer) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    host, port = srv.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), DEADLINE)


async def drip(writer: asyncio.StreamWriter, data: bytes, interval: float = 1.0) -> None:
    """Send `data` one byte every `interval` seconds until done or the server hangs up."""
    with contextlib.suppress(ConnectionError):
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(interval)


def request(path: str = "/healthz", method: str = "GET", headers: str = "", body: bytes = b"") -> bytes:
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}{length}\r\n".encode() + body


async def exchange(srv: RunningServer, raw: bytes) -> Answer:
    async with connection(srv) as (reader, writer):
        writer.write(raw)
        return parse(await until_closed(reader))


@pytest.fixture
async def quick() -> AsyncIterator[RunningServer]:
    async with running_server(QUICK) as srv:
        yield srv


async def test_an_idle_connection_is_closed_without_an_answer(quick: RunningServer) -> None:
    async with connection(quick) as (reader, _):
        assert await until_closed(reader) == b""


async def test_headers_at_one_byte_a_second_are_cut_off_with_408(quick: RunningServer) -> None:
    async with connection(quick) as (reader, writer):
        sender = asyncio.create_task(drip(writer, request()))
        answer = parse(await until_closed(reader))
        sender.cancel()
    assert answer.status == 408
    assert answer.problem()["errors"][0]["field"] == "headers"
    assert answer.headers["connection"] == "close"


async def test_a_partial_request_line_is_cut_off_with_408(quick: RunningServer) -> None:
    answer = await exchange(quick, b"POST /api/v2/eventbr")
    assert answer.status == 408


async def test_a_body_at_one_byte_a_second_is_cut_off_with_408(quick: RunningServer) -> None:
    token = await quick.token()
    head = request(
        EVENTS,
        "POST",
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n",
    )
    async with connection(quick) as (reader, writer):
        writer.write(head)
        sender = asyncio.create_task(drip(writer, b'{"eventType": "contact.created", ' + b" " * 466))
        answer = parse(await until_closed(reader))
        sender.cancel()
    assert answer.status == 408
    assert answer.problem()["errors"][0]["field"] == "body"


async def test_a_request_that_keeps_up_is_served_on_a_kept_alive_connection(quick: RunningServer) -> None:
    async with connection(quick) as (reader, writer):
        for _ in range(2):
            writer.write(request())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
            answer = parse(head)
            assert answer.status == 200
            await reader.readexactly(int(answer.headers["content-length"]))


async def test_pipelined_requests_in_one_write_are_all_served(quick: RunningServer) -> None:
    async with connection(quick) as (reader, writer):
        writer.write(request() * 3 + request(headers="Connection: close\r\n"))
        raw = await until_closed(reader)
    assert raw.count(b"HTTP/1.1 200 OK") == 4


async def test_beyond_the_connection_cap_503_until_a_slot_frees() -> None:
    cap = {"server": {"max_connections": 2, "header_timeout_seconds": 60}}
    async with running_server(cap) as srv, connection(srv), connection(srv) as (held, holder):
        answer = await exchange(srv, request())
        assert answer.status == 503
        assert answer.headers["retry-after"] == "1"
        assert answer.problem()["title"] == "unavailable"
        holder.write(request(headers="Connection: close\r\n"))  # one within the cap is still served
        assert parse(await until_closed(held)).status == 200

        async def served() -> bool:
            return (await exchange(srv, request(headers="Connection: close\r\n"))).status == 200

        assert await wait_until(served, timeout=DEADLINE)


async def test_a_huge_header_value_is_answered_431(quick: RunningServer) -> None:
    answer = await exchange(quick, request(headers="X-Big: " + "a" * (1 << 20) + "\r\n"))
    assert answer.status == 431
    assert answer.problem()["errors"][0]["field"] == "headers"


async def test_one_header_line_over_the_line_limit_is_answered_431(quick: RunningServer) -> None:
    answer = await exchange(quick, request(headers="X-Long: " + "a" * 20_000 + "\r\n"))
    assert answer.status == 431
    assert "longer than 16384" in answer.problem()["detail"]


async def test_too_many_headers_are_answered_431(quick: RunningServer) -> None:
    answer = await exchange(quick, request(headers="".join(f"X-H{i}: v\r\n" for i in range(101))))
    assert answer.status == 431
    assert "more than 100" in answer.problem()["detail"]


async def test_headers_under_every_limit_are_served(quick: RunningServer) -> None:
    headers = "".join(f"X-H{i}: {'v' * 500}\r\n" for i in range(90)) + "Connection: close\r\n"
    assert (await exchange(quick, request(headers=headers))).status == 200


@pytest.mark.parametrize(
    "raw", [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"]
)
async def test_a_malformed_request_is_answered_400_problem_json(quick: RunningServer, raw: bytes) -> None:
    answer = await exchange(quick, raw)
    assert answer.status == 400
    assert answer.problem()["errors"][0]["field"] == "request"


@pytest.mark.parametrize("path", [EVENTS, "/api/v2/eventbridge/subscriptions"])
def test_a_client_leaving_mid_body_is_no_error_in_the_log(path: str) -> None:
    """A server process with its log in a file: the disconnect is logged at info, and nothing at error."""
    with tempfile.TemporaryDirectory(prefix="ccbridge-") as folder:
        srv = start_process(Path(folder), {"logging": {"level": "info", "format": "json"}})
        try:
            asyncio.run(leave_mid_body(srv, path))
            log = Path(folder) / "server.log"

            def disconnect_logged() -> bool:
                return "client disconnected" in log.read_text()

            assert asyncio.run(wait_until(as_async(disconnect_logged), timeout=DEADLINE))
            text = log.read_text()
            assert '"level": "error"' not in text and "Traceback" not in text, text
        finally:
            kill(srv)


async def leave_mid_body(srv: RunningServer, path: str) -> None:
    token = await srv.token()
    head = request(
        path,
        "POST",
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n",
    )
    async with connection(srv) as (_, writer):
        writer.write(head + b'{"eventType": ')
        await writer.drain()
    async with httpx.AsyncClient() as client:  # the server still answers others
        assert (await client.get(srv.base_url + "/healthz")).status_code == 200


def as_async(predicate: Any) -> Any:
    async def check() -> Any:
        return predicate()

    return check
