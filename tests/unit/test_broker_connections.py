"""The broker endpoints' connection cache: one open per key, reopened when closed, nothing leaked."""

from __future__ import annotations

import asyncio

import pytest

from ccbridge.endpoints.broker import Connections


class Conn:
    def __init__(self) -> None:
        self.open = True


async def _close(conn: Conn) -> None:
    conn.open = False


def cache() -> Connections[str, Conn]:
    return Connections(lambda c: c.open, _close)


async def test_concurrent_first_gets_share_one_open() -> None:
    opened: list[Conn] = []
    gate = asyncio.Event()

    async def open_() -> Conn:
        await gate.wait()
        opened.append(Conn())
        return opened[-1]

    connections = cache()
    waiting = [asyncio.ensure_future(connections.get("k", open_)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    got = await asyncio.gather(*waiting)
    assert len(opened) == 1 and all(c is opened[0] for c in got)


async def test_a_closed_connection_is_replaced_and_a_failed_open_is_retried() -> None:
    connections = cache()
    first = await connections.get("k", lambda: _ready(Conn()))
    first.open = False
    second = await connections.get("k", lambda: _ready(Conn()))
    assert second is not first

    async def refuse() -> Conn:
        raise ConnectionRefusedError

    other = cache()
    with pytest.raises(ConnectionRefusedError):
        await other.get("k", refuse)
    assert (await other.get("k", lambda: _ready(Conn()))).open


async def test_dropping_a_connection_still_opening_closes_it_once_open() -> None:
    gate = asyncio.Event()
    conn = Conn()

    async def open_() -> Conn:
        await gate.wait()
        return conn

    connections = cache()
    waiter = asyncio.ensure_future(connections.get("k", open_))
    await asyncio.sleep(0)
    await connections.drop("k")
    gate.set()
    assert await waiter is conn  # the send that waited on it is not cancelled
    await connections.aclose()
    assert not conn.open


async def _ready(conn: Conn) -> Conn:
    return conn
