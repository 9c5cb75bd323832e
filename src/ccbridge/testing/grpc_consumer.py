"""A real `EventConsumer` gRPC server on loopback, for tests and the demo.

It records every call and answers as its `ConsumerBehaviour` says (accept, fail the first N calls,
always fail, answer slowly), so delivery can be exercised end to end over a socket without a mock of grpc.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import grpc
import grpc.aio

from ccbridge.endpoints.grpc_gen import consumer_pb2, consumer_pb2_grpc

JSON = Any


@dataclass(frozen=True, slots=True)
class ConsumerBehaviour:
    """How the consumer answers each call.

    `always` (when set) is the status of every call; otherwise the first `fail_first` calls since this
    behaviour was set answer `fail_code` and later ones OK. Each call first sleeps `delay` seconds.
    Failures carry `details` and, when `retry_after` is set, a `retry-after` trailing metadata entry.
    """

    fail_first: int = 0
    fail_code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    always: grpc.StatusCode | None = None
    delay: float = 0.0
    retry_after: float | None = None
    details: str = "simulated failure"


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """One Consume call as the consumer saw it; `body` is the decoded JSON payload (None if not JSON)."""

    id: str
    type: str
    source: str
    time: str
    correlation_id: str
    attempt: int
    subscription_id: str
    payload: bytes
    body: JSON
    metadata: dict[str, str]
    peer: str


class GrpcConsumer:
    """An EventConsumer on `host`, on a free port chosen at `start()`.

    `calls` holds every call that reached the handler, `received` only those answered OK, in arrival
    order. With `tls=(certificate_chain_pem, private_key_pem)` it serves TLS and `address` is
    `grpcs://`. `options` are gRPC server arguments (e.g. `grpc.max_receive_message_length`).
    """

    def __init__(
        self,
        behaviour: ConsumerBehaviour | None = None,
        *,
        host: str = "127.0.0.1",
        tls: tuple[bytes, bytes] | None = None,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self._behaviour = behaviour or ConsumerBehaviour()
        self._host = host
        self._tls = tls
        self._options = tuple(options)
        self._server: grpc.aio.Server | None = None
        self._port: int | None = None
        self._count = 0
        self._changed = asyncio.Condition()
        self.calls: list[ReceivedEvent] = []
        self.received: list[ReceivedEvent] = []

    @property
    def behaviour(self) -> ConsumerBehaviour:
        return self._behaviour

    @behaviour.setter
    def behaviour(self, behaviour: ConsumerBehaviour) -> None:
        """Switch behaviour; `fail_first` counts from here."""
        self._behaviour = behaviour
        self._count = 0

    @property
    def address(self) -> str:
        """The endpoint URL, `grpc://127.0.0.1:PORT` (or `grpcs://`); only valid after `start()`."""
        if self._port is None:
            raise RuntimeError("GrpcConsumer is not started")
        return f"{'grpcs' if self._tls else 'grpc'}://{self._host}:{self._port}"

    async def start(self) -> None:
        server = grpc.aio.server(options=self._options)
        consumer_pb2_grpc.add_EventConsumerServicer_to_server(self, server)  # type: ignore[no-untyped-call]
        bind = f"{self._host}:0"
        if self._tls:
            chain, key = self._tls
            self._port = server.add_secure_port(bind, grpc.ssl_server_credentials([(key, chain)]))
        else:
            self._port = server.add_insecure_port(bind)
        await server.start()
        self._server = server

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving; calls in flight are cancelled unless `grace` seconds let them finish."""
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

    async def wait_for(self, n: int, timeout: float = 5.0) -> list[ReceivedEvent]:  # noqa: ASYNC109
        """Wait until `n` calls were answered OK; raises TimeoutError naming how many arrived.

        `timeout` is a parameter (not left to the caller's `asyncio.timeout`) so a hung test fails by
        default, with a message that says how far delivery got.
        """
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: len(self.received) >= n)
        except TimeoutError:
            raise TimeoutError(f"{len(self.received)} of {n} events received in {timeout} s") from None
        return list(self.received)

    async def __aenter__(self) -> GrpcConsumer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def Consume(
        self, request: consumer_pb2.Event, context: grpc.aio.ServicerContext
    ) -> consumer_pb2.Ack:
        """The EventConsumer RPC (hence the name): record, then answer as the behaviour says."""
        seen = _received(request, context)
        self.calls.append(seen)
        self._count += 1
        behaviour = self._behaviour
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        code = behaviour.always
        if code is None and self._count <= behaviour.fail_first:
            code = behaviour.fail_code
        if code is not None and code is not grpc.StatusCode.OK:
            trailing = () if behaviour.retry_after is None else (("retry-after", str(behaviour.retry_after)),)
            await context.abort(code, behaviour.details, trailing_metadata=trailing)
        async with self._changed:
            self.received.append(seen)
            self._changed.notify_all()
        return consumer_pb2.Ack(note="ok")


def _received(request: consumer_pb2.Event, context: grpc.aio.ServicerContext) -> ReceivedEvent:
    try:
        body: JSON = json.loads(request.payload)
    except ValueError:
        body = None
    metadata = {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}
    return ReceivedEvent(
        id=request.id,
        type=request.type,
        source=request.source,
        time=request.time,
        correlation_id=request.correlation_id,
        attempt=request.attempt,
        subscription_id=request.subscription_id,
        payload=request.payload,
        body=body,
        metadata=metadata,
        peer=context.peer(),
    )
