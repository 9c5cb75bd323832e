"""`/readyz` is ready only while the store answers: the real server on PostgreSQL reached through a
TCP relay on loopback that the test cuts and restores (nothing else needs to write meanwhile)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from ccbridge.serve import free_port
from ccbridge.testing.server import running_server, wait_until

URL = os.environ.get("CCBRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


class Relay:
    """Forwards 127.0.0.1:`port` to PostgreSQL; `cut()` closes the listener and every relayed
    connection (the database is then out of reach), `restore()` listens on the same port again."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 5432)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    name = f"ccb_{uuid.uuid4().hex[:16]}"
    yield name
    conn = await asyncpg.connect(URL)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await conn.close()


async def test_readyz_follows_whether_the_store_answers(schema: str) -> None:
    relay = Relay()
    await relay.restore()
    store = {"url": f"postgresql://postgres@127.0.0.1:{relay.port}/test", "postgres_schema": schema}
    try:
        async with running_server({"store": store}) as srv, httpx.AsyncClient(base_url=srv.base_url) as web:
            assert (await web.get("/readyz")).json() == {"status": "ready"}
            await relay.cut()
            down = await web.get("/readyz")
            assert down.status_code == 503
            assert down.json()["status"] == "unavailable"
            assert "does not answer" in down.json()["reason"] or "did not answer" in down.json()["reason"]
            await relay.restore()

            async def ready() -> bool:
                return (await web.get("/readyz")).status_code == 200

            assert await wait_until(ready, timeout=15)
    finally:
        await relay.cut()
