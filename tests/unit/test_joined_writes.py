"""`api.connections.JoinedWrites`: an answer's header block and body leave in one transport write,
order is kept, and nothing is held past the loop's next iteration or a close. The transport here
is a recording stand-in: the unit under test is the write joining alone (the real server's
answers are covered by tests/integration/server/test_connections*.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from ccbridge.api.connections import JoinedWrites


class Recording:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


def joined() -> tuple[JoinedWrites, Recording]:
    recording = Recording()
    return JoinedWrites(recording, asyncio.get_running_loop()), recording  # type: ignore[arg-type]


async def next_iteration() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_head_and_body_leave_in_one_write() -> None:
    transport, recording = joined()
    transport.write(b"HTTP/1.1 201 Created\r\n\r\n")
    assert recording.writes == []
    transport.write(b'{"ok":true}')
    assert recording.writes == [b'HTTP/1.1 201 Created\r\n\r\n{"ok":true}']
    await next_iteration()
    assert recording.writes == [b'HTTP/1.1 201 Created\r\n\r\n{"ok":true}']


async def test_a_lone_write_goes_out_on_the_next_iteration() -> None:
    transport, recording = joined()
    transport.write(b"head")
    await next_iteration()
    assert recording.writes == [b"head"]


async def test_streamed_chunks_keep_their_order() -> None:
    transport, recording = joined()
    for chunk in (b"head", b"one", b"two"):
        transport.write(chunk)
    await next_iteration()
    transport.write(b"three")
    await next_iteration()
    assert b"".join(recording.writes) == b"headonetwothree"
    assert recording.writes[0] == b"headone"


async def test_close_sends_what_is_held_first() -> None:
    transport, recording = joined()
    transport.write(b"last words")
    transport.close()
    assert recording.writes == [b"last words"] and recording.closed
    await next_iteration()
    assert recording.writes == [b"last words"]


async def test_other_attributes_are_the_transports() -> None:
    transport, recording = joined()
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
    assert not transport.is_closing()
    recording.close()
    assert transport.is_closing()
