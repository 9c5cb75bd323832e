"""A TCP relay on loopback that a test cuts and restores: a dependency (PostgreSQL) going out of
reach and coming back, for real, without stopping the shared service."""

from __future__ import annotations

import asyncio
import contextlib

from ccbridge.serve import free_port


class Relay:
    """Forwards 127.0.0.1:`port` to `upstream` (the machine's PostgreSQL by default); `cut()` closes
    the listener and every relayed connection (the upstream is then out of reach), `restore()`
    listens on the same port again. Start it with `restore()`."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.port = free_port()
        self._upstream = upstream
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
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
