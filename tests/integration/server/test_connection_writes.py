"""The guarded protocol's joined writes (`api.connections.JoinedWrites`) on a real uvicorn server over
loopback: a plain answer arrives whole, and an app that sends its headers and then waits still gets
its headers to the client before it sends a byte of body (nothing is held for the body)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import uvicorn

from ccbridge.api.connections import ConnectionLimits, protocol_class

DEADLINE = 30.0
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@contextlib.asynccontextmanager
async def serving(app: App) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections queue in the kernel until the server accepts them
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, http=protocol_class(ConnectionLimits()), ws="none", lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, DEADLINE)


REQUEST = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"


async def test_plain_answer_arrives_whole() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        await send({"type": "http.response.body", "body": b"hello"})

    async with serving(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(3):  # kept alive: each answer is complete and in order
            writer.write(REQUEST)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            assert await asyncio.wait_for(reader.readexactly(5), DEADLINE) == b"hello"
        writer.close()


async def test_headers_are_not_held_while_the_app_waits_for_its_body() -> None:
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        start = {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"transfer-encoding", b"chunked")],
        }
        await send(start)
        await release.wait()
        await send({"type": "http.response.body", "body": b"late", "more_body": False})

    async with serving(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)  # while the app waits
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and not release.is_set()
        release.set()
        body = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), DEADLINE)
        assert body == b"4\r\nlate\r\n0\r\n\r\n"
        writer.close()
