"""Running the server: uvicorn on uvloop + httptools (guarded by `api.connections`), SIGTERM handled
as a graceful stop."""

from __future__ import annotations

import asyncio
import signal
import socket

import uvicorn

from ccbridge.api.connections import ConnectionLimits, protocol_class
from ccbridge.bootstrap import Runtime, build
from ccbridge.config import Config, ServerConfig
from ccbridge.observability.logging import configure


def connection_limits(server: ServerConfig) -> ConnectionLimits:
    return ConnectionLimits(
        header_timeout=server.header_timeout_seconds,
        body_timeout=server.body_timeout_seconds,
        min_body_rate=server.min_body_bytes_per_second,
        max_connections=server.max_connections,
        max_header_bytes=server.max_header_bytes,
        max_header_line=server.max_header_line_bytes,
        max_headers=server.max_headers,
    )


def uvicorn_config(runtime: Runtime, sock_port: int | None = None) -> uvicorn.Config:
    """No WebSockets (the API has none, so an `Upgrade` is served as plain HTTP); uvicorn's own
    `limit_concurrency` is not used: the guarded protocol caps connections with a problem+json 503."""
    config = runtime.config
    return uvicorn.Config(
        runtime.app,
        host=config.server.host,
        port=config.server.port if sock_port is None else sock_port,
        loop="uvloop",
        http=protocol_class(connection_limits(config.server)),
        ws="none",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=int(config.delivery.shutdown_grace_seconds) + 5,
        server_header=False,
    )


def serve(config: Config) -> None:
    """Blocks until SIGINT/SIGTERM: stop accepting, finish requests, then in-flight deliveries."""
    configure(config.logging.level, config.logging.format)
    runtime = build(config, freeze_heap=True)
    server = uvicorn.Server(uvicorn_config(runtime))
    # uvicorn re-raises the signal it caught once shutdown is done; with a Python handler in place
    # that re-raise is a no-op, so a graceful stop exits 0 rather than "killed by SIGTERM".
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    server.run()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def serve_async(runtime: Runtime) -> uvicorn.Server:
    """Start the server in the running loop (tests, demo); `await server.shutdown()`-style stop via
    `server.should_exit = True`."""
    server = uvicorn.Server(uvicorn_config(runtime))
    server.config.loop = "none"
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped while starting")
        await asyncio.sleep(0.01)
    server_task[id(server)] = task
    return server


server_task: dict[int, asyncio.Task[None]] = {}


async def stop_async(server: uvicorn.Server) -> None:
    server.should_exit = True
    task = server_task.pop(id(server), None)
    if task is not None:
        await task
