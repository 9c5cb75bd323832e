"""`ccbridge demo`: start a real server on loopback with a temporary SQLite store, drive the scripted
scenario through every feature, print the summary table, and return the exit code (0 only when every
figure was as expected).

Everything runs in this one event loop (server, dispatcher, webhook receivers, gRPC consumers), so
the demo needs no ports fixed in advance, no Docker and no network beyond loopback. A step that raises
or hangs is recorded as a failed row and the run goes on, so one broken feature does not hide the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
from rich.console import Console

from ccbridge.demo import (
    scenario_api,
    scenario_client,
    scenario_connectors,
    scenario_cxone,
    scenario_dashboard,
    scenario_delivery,
    scenario_health,
    scenario_history,
    scenario_ingest,
    scenario_ops,
    scenario_queue,
    scenario_registry,
)
from ccbridge.demo.context import CONSUMERS, HOOKS, Demo
from ccbridge.demo.prepare import overrides, write_files
from ccbridge.demo.report import Report
from ccbridge.ingest.testing import LegacyIssuer
from ccbridge.observability.logging import configure
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.cxone import FakeCxone
from ccbridge.testing.grpc_consumer import GrpcConsumer
from ccbridge.testing.server import running_server

Step = Callable[[Demo], Awaitable[None]]
STEPS: tuple[tuple[str, Step], ...] = (
    ("Tokens", scenario_api.tokens),
    ("Subscriptions", scenario_api.subscriptions),
    ("Events", scenario_api.events),
    ("Delivery, retries, dead letters", scenario_delivery.delivery),
    ("Signed inbound webhooks", scenario_delivery.inbound),
    ("Seed 002: long sales to two gRPC consumers", scenario_delivery.grpc_fan_out),
    ("Seed 001: queue endpoints (NATS, RabbitMQ)", scenario_queue.queue_fan_out),
    ("Client library: plan/apply, publish", scenario_client.client_side),
    ("Ingestion gateway (POST /ingest)", scenario_ingest.ingest),
    ("CXone: an agent event routed to a Signal call", scenario_cxone.agent_event_to_signal),
    ("Seed 001: registry sync from the server", scenario_registry.registry_sync),
    ("Metrics and operations", scenario_ops.metrics),
    ("Dashboard (/ui)", scenario_dashboard.dashboard),
    ("Delivery attempts and range replay", scenario_history.history),
    ("Endpoint health: breaker, 410, rotation, test event", scenario_health.health),
    ("Connectors: Genesys, EventBridge", scenario_connectors.connectors),
)
#: No step needs more than a few seconds; past this it is hanging, and the run moves on.
STEP_TIMEOUT = 20.0


@contextlib.contextmanager
def _workspace(keep: bool, console: Console) -> Iterator[Path]:
    if keep:
        folder = Path(tempfile.mkdtemp(prefix="ccbridge-demo-"))
        console.print(f"[dim]keeping the temporary folder {folder}[/dim]")
        yield folder
    else:
        with tempfile.TemporaryDirectory(prefix="ccbridge-demo-") as name:
            yield Path(name)


async def run_demo(keep: bool = False, log_file: Path | None = None) -> int:
    """Runs the whole scenario; 0 when every check passed, else 1. With `log_file`, the server's
    log at debug level goes there as JSON lines (to read what it logs, or check what it never does)."""
    console = Console(highlight=False)
    if not console.is_terminal:  # a log file or CI: wide enough that the table does not fold
        console = Console(highlight=False, width=140)
    report = Report(console)
    started = time.perf_counter()
    with contextlib.ExitStack() as logs:
        if log_file is None:
            configure("error", "console")  # the demo's lines are the output; the server's would be noise
        else:
            configure("debug", "json", logs.enter_context(log_file.open("a", encoding="utf-8")))
        return await _tour(keep, console, report, started)


async def _tour(keep: bool, console: Console, report: Report, started: float) -> int:
    with _workspace(keep, console) as folder:
        try:
            await _run(folder, report)
        except Exception as exc:  # start-up or shut-down failed: still a summary, and exit 1
            report.begin(0, len(STEPS), "Start and stop")
            report.crashed(exc)
    report.summary(time.perf_counter() - started)
    return 0 if report.ok else 1


async def _run(folder: Path, report: Report) -> None:
    """Consumers first (the config names them), then the server, then every step in order."""
    async with contextlib.AsyncExitStack() as stack:
        hooks = {name: await stack.enter_async_context(WebhookReceiver(path=f"/{name}")) for name in HOOKS}
        consumers = {name: await stack.enter_async_context(GrpcConsumer()) for name in CONSUMERS}
        issuer = LegacyIssuer("ES256")
        write_files(folder, issuer)
        config, ingest_problem = overrides(folder, hooks)
        cxone = await stack.enter_async_context(FakeCxone())
        scenario_cxone.log_in(cxone)
        config.update(scenario_cxone.config(cxone))
        srv = await stack.enter_async_context(running_server(config, folder=folder))
        report.console.print(f"server on {srv.base_url}, store {folder / 'ccbridge.db'}")
        token = await srv.token()
        bearer = {"Authorization": f"Bearer {token}"}
        api = await stack.enter_async_context(
            httpx.AsyncClient(base_url=srv.base_url, headers=bearer, timeout=10)
        )
        web = await stack.enter_async_context(httpx.AsyncClient(base_url=srv.base_url, timeout=10))
        ctx = Demo(srv, api, web, report, hooks, consumers, issuer, ingest_problem, cxone=cxone)
        for number, (title, step) in enumerate(STEPS, 1):
            report.begin(number, len(STEPS), title)
            try:
                async with asyncio.timeout(STEP_TIMEOUT):
                    await step(ctx)
            except Exception as exc:  # any failure becomes a failed row; the run goes on
                report.crashed(exc)
