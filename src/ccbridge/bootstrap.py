"""The one composition root: config -> adapters -> app and dispatcher. Nothing else constructs
adapters; everything else receives them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp

from ccbridge.api import inbound
from ccbridge.api import ingest as ingest_route
from ccbridge.api.app import create_app
from ccbridge.api.services import Services
from ccbridge.api.tokens import TokenService
from ccbridge.api.ui import start_dashboard, stop_dashboard
from ccbridge.config import Config, resolve_path
from ccbridge.core.endpoint_health import BreakerPolicy
from ccbridge.core.ids import uuid4_str
from ccbridge.core.ports import Endpoint
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.core.times import SystemClock
from ccbridge.delivery.breaker import EndpointGuard
from ccbridge.delivery.dispatcher import Dispatcher
from ccbridge.delivery.replayer import Replayer
from ccbridge.endpoints.amqp import AmqpEndpoint
from ccbridge.endpoints.grpc import GrpcEndpoint
from ccbridge.endpoints.nats import NatsEndpoint
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.endpoints.queue import QueueEndpoint
from ccbridge.endpoints.webhook import WebhookEndpoint
from ccbridge.heap import freeze_startup_heap
from ccbridge.ingest import CompiledIngest, IngestGateway, compile_ingest
from ccbridge.observability.audit import AuditLog
from ccbridge.observability.metrics import Metrics
from ccbridge.stores.housekeeping import Housekeeper
from ccbridge.stores.postgres import PostgresStore
from ccbridge.stores.sqlite import SqliteStore

TOKEN_KEY = "oauth-token-signing-key"


@dataclass
class Runtime:
    """Everything one server process runs; `app` is the ASGI app to serve."""

    config: Config
    services: Services
    store: SqliteStore | PostgresStore
    dispatcher: Dispatcher | None
    app: ASGIApp


def _endpoints(config: Config) -> dict[str, Endpoint]:
    policy = NetworkPolicy(config.delivery.allow_private_networks, config.delivery.allowed_networks)
    ca_file = (
        str(resolve_path(config, config.delivery.grpc_ca_file)) if config.delivery.grpc_ca_file else None
    )
    return {
        "webhook": WebhookEndpoint(policy, limit_per_host=config.delivery.per_endpoint_concurrency),
        "grpc": GrpcEndpoint(policy, ca_file),
        "queue": QueueEndpoint(NatsEndpoint(policy), AmqpEndpoint(policy)),
    }


def _guard(config: Config, store: SqliteStore | PostgresStore, metrics: Metrics) -> EndpointGuard:
    """Endpoint health (`delivery.breaker`, `rateLimitPerSecond`) on the dispatcher's own store."""
    b = config.delivery.breaker
    policy = BreakerPolicy(
        failures=b.failures,
        probe_initial_seconds=b.probe_initial_seconds,
        probe_max_seconds=b.probe_max_seconds,
        disable_after_seconds=b.disable_after_seconds,
        probe_lease_seconds=config.delivery.lease_seconds,
    )
    owner = f"guard-{uuid4_str()[:12]}"
    return EndpointGuard(store, store, policy, owner, metrics, SystemClock().now, b.enabled)


def make_store(config: Config) -> SqliteStore | PostgresStore:
    """The store `store.url` names, by its scheme (unopened)."""
    if config.store.kind == "postgres":
        return PostgresStore(
            config.store.url,
            SubscriptionRouter(),
            max_pending=config.limits.max_pending,
            schema=config.store.postgres_schema,
        )
    return SqliteStore(
        str(resolve_path(config, config.store.sqlite_path)),
        SubscriptionRouter(),
        max_pending=config.limits.max_pending,
    )


def compile_files(config: Config) -> CompiledIngest | None:
    """What loading the config cannot check: the files `ingest` names (keys, schemas) read and its
    patterns compiled. Raises one ConfigError listing every problem, each naming its key."""
    return None if config.ingest is None else compile_ingest(config.ingest, config.base_dir)


def build(config: Config, *, freeze_heap: bool = False) -> Runtime:
    """Everything the server needs, from `config`. `freeze_heap` (the `serve` command's choice; not in
    tests, which start many servers in one process) freezes the heap once startup is done."""
    ingest = compile_files(config)
    store = make_store(config)
    metrics = Metrics()
    services = Services(config=config, store=store, tokens=TokenService(config.auth, b""), metrics=metrics)
    if config.audit is not None:
        services.audit = AuditLog(resolve_path(config, config.audit.path))
    gateway = None
    extra = [inbound.build_router(services)]
    fast: dict[tuple[str, str], Any] = {}
    if ingest is not None:
        gateway = IngestGateway(ingest, store.append_event, SystemClock())
        services.ingest = gateway
        handler = ingest_route.make_ingest(services, gateway, ingest.max_body_bytes)
        extra.append(ingest_route.build_router(handler))
        fast[("POST", ingest_route.PATH)] = handler
    dispatcher = None
    if config.delivery.enabled:
        dispatcher = Dispatcher(
            store, _endpoints(config), config.delivery, metrics, guard=_guard(config, store, metrics)
        )
        store.add_listener(dispatcher.notify)

    housekeeper = Housekeeper(store, config.store.retention_days)
    replayer = Replayer(store)
    services.wake_replays = replayer.wake

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        services.tokens = TokenService(config.auth, await store.secret(TOKEN_KEY))
        dashboard = await start_dashboard(services, store.secret)
        if dispatcher is not None:
            dispatcher.start()
        housekeeper.start()
        replayer.start()
        if gateway is not None:
            await gateway.start()
        services.readiness.ready = True
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            services.readiness.ready = False
            await stop_dashboard(dashboard)
            await housekeeper.stop()
            await replayer.stop()
            if dispatcher is not None:
                await dispatcher.stop()
            if gateway is not None:
                await gateway.aclose()
            if services.audit is not None:
                await services.audit.drain()
            await store.close()

    app = create_app(services, lifespan, extra_routers=extra, fast_routes=fast)
    return Runtime(config, services, store, dispatcher, app)
