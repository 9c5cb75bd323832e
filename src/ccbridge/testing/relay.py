"""A TCP relay on loopback for tests that need the network between ccbridge and a server to fail.

`Relay(port)` forwards 127.0.0.1:`relay.port` to 127.0.0.1:`port` (PostgreSQL, say), one upstream
connection per accepted one. Its faults, each undone by `restore()`:

* `cut()`: stop listening and abort every relayed connection (the server is out of reach);
* `refuse()`: stop listening, keep the relayed connections (new connections are refused);
* `hold()`: accept new connections but neither forward nor close them (a connect hangs); `held`
  is set once one is being held;
* `freeze()`: the connections relayed so far stop carrying bytes while staying open (a silent drop:
  no FIN, no RST); connections accepted afterwards flow.
"""

from __future__ import annotations

import asyncio
import contextlib

from ccbridge.serve import free_port


class Relay:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self._upstream = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing: list[asyncio.Event] = []  # one per relayed connection: set while it carries bytes
        self._holding = False
        self.held = asyncio.Event()

    async def __aenter__(self) -> Relay:
        await self.restore()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.cut()

    async def restore(self) -> None:
        """Listen again (if not listening) and relay new connections normally."""
        self._holding = False
        self.held.clear()
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def refuse(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def cut(self) -> None:
        await self.refuse()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def hold(self) -> None:
        self._holding = True

    def freeze(self) -> None:
        for flowing in self._flowing:
            flowing.clear()
        self._flowing = []

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self._holding:
            self.held.set()
            await reader.read()  # until the client gives up; nothing is forwarded
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        flowing = asyncio.Event()
        flowing.set()
        self._flowing.append(flowing)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    await flowing.wait()  # frozen: the bytes are held back for good, the sockets stay open
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except asyncio.CancelledError:
            # a frozen pipe is cancelled at the loop's end; ending normally keeps asyncio's
            # connection callback (3.11) from logging the cancellation as an error
            writer.transport.abort()
            up_writer.transport.abort()
