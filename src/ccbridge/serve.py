"""Running the server: uvicorn on uvloop + httptools (guarded by `api.connections`), SIGTERM handled
as a graceful stop; with `server.workers` > 1, that many such processes on one port under a
`supervisor.Supervisor`."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import Callable

import uvicorn

from ccbridge.api.connections import ConnectionLimits, protocol_class
from ccbridge.bootstrap import Runtime, build, compile_files
from ccbridge.config import Config, ServerConfig
from ccbridge.observability.logging import configure
from ccbridge.supervisor import Supervisor


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


def serve(config: Config) -> int:
    """Blocks until SIGINT/SIGTERM: stop accepting, finish requests, then in-flight deliveries.
    Returns the exit code (0 after a graceful stop)."""
    configure(config.logging.level, config.logging.format)
    if config.server.worker_count > 1:
        return serve_workers(config, config.server.worker_count)
    runtime = build(config, freeze_heap=True)
    server = uvicorn.Server(uvicorn_config(runtime))
    _quiet_reraise()
    server.run()
    return 0


def _quiet_reraise() -> None:
    # uvicorn re-raises the signal it caught once shutdown is done; with a Python handler in place
    # that re-raise is a no-op, so a graceful stop exits 0 rather than "killed by SIGTERM".
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)


def serve_workers(config: Config, workers: int) -> int:
    """`workers` processes on one socket bound here (see `supervisor` for why not SO_REUSEPORT).
    The ingest files are checked before anything is bound or forked, so a bad one is one ConfigError
    (exit 2) rather than N failing workers."""
    compile_files(config)
    try:
        sock = listening_socket(config.server)
    except OSError as exc:
        print(f"error: cannot listen on {config.server.host}:{config.server.port}: {exc}", file=sys.stderr)
        return 1
    stop_timeout = config.delivery.shutdown_grace_seconds + 15

    def target(index: int, ready: Callable[[], None]) -> int:
        return serve_worker(config, index, sock, ready)

    return Supervisor(workers, sock, target, stop_timeout).run()


def listening_socket(server: ServerConfig) -> socket.socket:
    """Bound and listening as uvicorn binds its own (SO_REUSEADDR, backlog 2048)."""
    family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((server.host, server.port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


class _NotifyingServer(uvicorn.Server):
    """Calls `ready` once it serves (the supervisor then starts the other workers)."""

    def __init__(self, config: uvicorn.Config, ready: Callable[[], None]) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self.ready()


def serve_worker(config: Config, index: int, sock: socket.socket, ready: Callable[[], None]) -> int:
    """One worker of `serve_workers`, in its forked process: its own runtime (event loop, dispatcher,
    store connections) serving the inherited socket; drains on SIGTERM as `serve` does. Exit code 3
    when it never started serving."""
    runtime = build(config, freeze_heap=True)
    runtime.services.metrics.identify(index)
    server = _NotifyingServer(uvicorn_config(runtime), ready)
    _quiet_reraise()
    server.run(sockets=[sock])
    return 0 if server.started else 3


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
