"""The HTTP/1.1 connection guard: uvicorn's httptools protocol with read deadlines, header limits, a
connection cap, and problem+json for every answer the protocol gives itself.

Why a protocol and not middleware: a client that never finishes its headers never reaches the app,
and httptools buffers a header of any size before calling back, so both the deadlines and the size
limits must act on the bytes as they arrive.

Contracts (the numbers come from `server:` in the config, `ConnectionLimits` here):

* A connection must complete each request's headers within `header_timeout` seconds of connecting,
  or of the first byte of a request on a kept-alive connection; idle kept-alive connections are
  closed by uvicorn's keep-alive timeout. One that sent nothing is closed without an answer, one
  that started a request gets 408.
* A body must keep up an average of `min_body_rate` bytes a second after a grace of `body_timeout`
  seconds; otherwise 408 (if the app has not answered yet) and the connection is closed. Time during
  which reading is paused because the app has not consumed the body yet does not count against it.
* At most `max_header_bytes` bytes for a request line and headers, `max_header_line` for one header,
  `max_headers` headers: beyond any of them 431.
* A connection beyond `max_connections` open ones in this process is answered 503 with
  `Retry-After` when its headers arrive, unless a slot has freed by then; the server never stops
  accepting because of it.
* Each answer reaches the socket in one write: uvicorn writes the status line and headers, then
  the body, as two `transport.write` calls (two syscalls on an idle socket); `JoinedWrites` holds
  the first until the second joins it, or until the end of the current loop iteration at the
  latest, so nothing waits on a slow app.
* Unparseable requests get 400. Statuses and bodies come from `api.problems` (`ANSWERS`), so these
  answers look like every other error of the API. Every rejection closes the connection after the
  answer, half-closing first and discarding what the client still sends for a moment, so the client
  can read the answer instead of a reset.

Rejections are the client's doing, so they are logged at debug level, never as errors.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
import structlog
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ccbridge.api.problems import from_error
from ccbridge.errors import (
    BridgeError,
    FieldError,
    HeadersTooLarge,
    Malformed,
    RequestTimeout,
    Unavailable,
)

log = structlog.get_logger("ccbridge.connections")

LINGER_SECONDS = 2.0
"""How long a rejected connection keeps discarding input after its answer before it is closed."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    min_body_rate: float = 1024.0
    max_connections: int = 10_000
    max_header_bytes: int = 65_536
    max_header_line: int = 16_384
    max_headers: int = 100
    retry_after: float = 1.0


class JoinedWrites:
    """The transport an app's response cycle writes through: a write is held until the next one
    (then both go out as one) or until the loop's next iteration, whichever comes first; `close`
    sends what is held first. Order is kept and no write waits longer than one loop iteration.
    Everything else is the connection's transport."""

    __slots__ = ("_flush_scheduled", "_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._flush_scheduled = False

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
            return
        self._held = bytes(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def flush(self) -> None:
        """Send what is held now."""
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Rejected(Exception):
    """Raised inside a parser callback to stop parsing; the reason is on the protocol."""


def protocol_class(limits: ConnectionLimits) -> type[GuardedProtocol]:
    """The protocol class uvicorn instantiates per connection (`uvicorn.Config(http=...)`)."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": limits})


class GuardedProtocol(HttpToolsProtocol):
    limits: ClassVar[ConnectionLimits] = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = False  # between the first byte of a request and the end of its headers
        self._in_body = False  # between the end of the headers and the end of the body
        self._answering = False  # the app has a cycle for the current request
        self._head_bytes = 0
        self._reading = 0  # the length of the data being fed to the parser
        self._completed = 0  # requests parsed to their end on this connection
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_started = 0.0
        self._body_bytes = 0
        self._over_cap = False
        self._rejection: BridgeError | None = None
        self._rejected = False
        self._joined: JoinedWrites | None = None

    # connection lifecycle

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._joined = JoinedWrites(transport, self.loop)
        self._over_cap = len(self.connections) > self.limits.max_connections
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._rejected:
            return  # lingering after an answer: what the client still sends is dropped
        self._unset_keepalive_if_required()
        try:
            if self._in_body and not self._in_head:
                self._body_bytes += len(data)
                self._reading = len(data)
                self.parser.feed_data(data)
            elif len(data) <= self.limits.max_header_bytes - self._head_bytes:
                completed = self._completed
                self._reading = len(data)
                self.parser.feed_data(data)
                if self._in_head:  # exact, but for a pipelined request starting inside this read
                    self._head_bytes = self._head_bytes + len(data) if completed == self._completed else 0
            else:
                self._feed_over(data)
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()
            return
        except (httptools.HttpParserError, _Rejected) as exc:
            self._reject(self._rejection or Malformed(FieldError("request", f"is not valid HTTP/1.1: {exc}")))
            return
        if self._in_head:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)
        elif self._in_body and self._body_timer is None:
            self._start_body_clock()

    def _feed_over(self, data: bytes) -> None:
        """A read longer than what is left of the head allowance: the parser gets the allowance
        first, and the rest only if the headers were complete within it."""
        completed = self._completed
        room = self.limits.max_header_bytes - self._head_bytes
        self._reading = room
        self.parser.feed_data(data[:room])
        if self._in_head and completed == self._completed:
            self._too_large(
                f"the request line and headers are longer than {self.limits.max_header_bytes} bytes"
            )
        self._reading = len(data) - room
        self.parser.feed_data(data[room:])
        self._head_bytes = 0

    # parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._answering = False

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._in_body = True
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        limits = self.limits
        if len(self.headers) > limits.max_headers:
            self._too_large(f"more than {limits.max_headers} header fields")
        if self._head_bytes + self._reading > limits.max_header_line:  # else no line can be too long
            for name, value in self.headers:
                if len(name) + len(value) > limits.max_header_line:
                    self._too_large(f"a header field is longer than {limits.max_header_line} bytes")
        self._head_bytes = 0
        if self._over_cap and len(self.connections) > limits.max_connections:
            self._rejection = Unavailable(
                "the server is at its connection limit", retry_after=limits.retry_after
            )
            raise _Rejected
        self._over_cap = False
        super().on_headers_complete()
        if self.cycle is not None and self._joined is not None:
            self.cycle.transport = self._joined  # type: ignore[assignment]
        self._answering = True

    def on_message_complete(self) -> None:
        self._in_body = False
        self._completed += 1
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def _too_large(self, message: str) -> None:
        self._rejection = HeadersTooLarge(FieldError("headers", message))
        raise _Rejected

    def _unsupported_upgrade_warning(self) -> None:
        log.debug("upgrade refused", client=self.client)

    # deadlines

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._rejected:
            return
        if self.cycle is not None and not self.cycle.response_complete:  # a pipelined head waits its turn
            self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)
        elif self._in_head:
            timeout = self.limits.header_timeout
            self._reject(RequestTimeout(FieldError("headers", f"not complete within {timeout:g} s")))
        elif self.cycle is None or self.cycle.response_complete:
            log.debug("idle connection closed", client=self.client)
            self.transport.close()

    def _start_body_clock(self) -> None:
        self._body_started, self._body_bytes = self.loop.time(), 0
        self._body_timer = self.loop.call_later(self.limits.body_timeout, self._check_body_rate)

    def _check_body_rate(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self._rejected or not self._in_body:
            return
        if self.flow.read_paused:  # the app has not taken what it was sent: not the client's delay
            self._start_body_clock()
            return
        due = self._body_started + self.limits.body_timeout + self._body_bytes / self.limits.min_body_rate
        if self.loop.time() < due:
            self._body_timer = self.loop.call_at(due, self._check_body_rate)
            return
        rate = self.limits.min_body_rate
        self._reject(RequestTimeout(FieldError("body", f"arrived slower than {rate:g} bytes a second")))

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    # answers

    def _reject(self, error: BridgeError) -> None:
        """Answer `error` (unless the app already started an answer), then close: half-close first and
        drop further input for LINGER_SECONDS so the client reads the answer rather than a reset."""
        log.debug("request rejected", client=self.client, error=str(error))
        self._rejected = True
        self._cancel_timers()
        cycle = self.cycle if self._answering else None
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app, if running, sees a disconnect and its answer is dropped
            cycle.message_event.set()
        if (cycle is not None and cycle.response_started) or self.transport.is_closing():
            if self._joined is not None:
                self._joined.flush()
            self.transport.close()
            return
        self.transport.write(self._answer(error))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _answer(self, error: BridgeError) -> bytes:
        response = from_error(error)
        content = [STATUS_LINE[response.status_code]]
        for name, value in [*self.server_state.default_headers, *response.raw_headers]:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"connection: close\r\n\r\n", bytes(response.body)])
        return b"".join(content)
