"""The one composition root: config -> adapters -> app and dispatcher. Nothing else constructs
adapters; everything else receives them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp

from ccbridge.api import inbound, sources
from ccbridge.api import ingest as ingest_route
from ccbridge.api.app import create_app
from ccbridge.api.services import Services
from ccbridge.api.tokens import TokenService
from ccbridge.api.tracing import traced_append
from ccbridge.api.ui import start_dashboard, stop_dashboard
from ccbridge.config import Config, resolve_path
from ccbridge.connectors import cxone
from ccbridge.connectors.base import Connector
from ccbridge.connectors.runner import ConnectorRunner
from ccbridge.connectors.sink import StoreSink
from ccbridge.core.endpoint_health import BreakerPolicy
from ccbridge.core.event import EndpointSpec
from ccbridge.core.ids import uuid4_str
from ccbridge.core.ports import DeliveryQueue, Endpoint
from ccbridge.core.registry import registry_subscription
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.core.times import SystemClock
from ccbridge.delivery.breaker import EndpointGuard
from ccbridge.delivery.dispatcher import Dispatcher
from ccbridge.delivery.registry import RegistryQueue, StateWatch
from ccbridge.delivery.replayer import Replayer
from ccbridge.endpoints.amqp import AmqpEndpoint
from ccbridge.endpoints.cxone_signal import CxoneSignalEndpoint
from ccbridge.endpoints.grpc import GrpcEndpoint
from ccbridge.endpoints.nats import NatsEndpoint
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.endpoints.queue import QueueEndpoint
from ccbridge.endpoints.webhook import WebhookEndpoint
from ccbridge.heap import freeze_startup_heap
from ccbridge.ingest import CompiledIngest, IngestGateway, compile_ingest
from ccbridge.observability.audit import AuditLog
from ccbridge.observability.metrics import Metrics
from ccbridge.observability.tracing import build_tracing
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
    cxone_auths: dict[str, cxone.CxoneAuth] = field(default_factory=dict)
    """One per `connectors.cxone` entry, shared by its agent source and the Signal endpoint."""


def cxone_auths(config: Config) -> dict[str, cxone.CxoneAuth]:
    """The credentials of each configured CXone tenant, by connector name."""
    return {entry.name: cxone.CxoneAuth(entry) for entry in config.connectors.cxone}


def cxone_connectors(runtime: Runtime) -> list[cxone.CxoneConnector]:
    """The agent event source of each configured CXone tenant, with the runtime's shared credentials
    (what the connector runner runs, one per `connectors.cxone` entry)."""
    return [cxone.build(entry, runtime.cxone_auths[entry.name]) for entry in runtime.config.connectors.cxone]


def _endpoints(config: Config, auths: dict[str, cxone.CxoneAuth] | None = None) -> dict[str, Endpoint]:
    policy = NetworkPolicy(config.delivery.allow_private_networks, config.delivery.allowed_networks)
    ca_file = (
        str(resolve_path(config, config.delivery.grpc_ca_file)) if config.delivery.grpc_ca_file else None
    )
    return {
        "webhook": WebhookEndpoint(policy, limit_per_host=config.delivery.per_endpoint_concurrency),
        "grpc": GrpcEndpoint(policy, ca_file),
        "queue": QueueEndpoint(NatsEndpoint(policy), AmqpEndpoint(policy)),
        "cxone-signal": CxoneSignalEndpoint(auths or {}),
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


def _registry(config: Config, store: SqliteStore | PostgresStore) -> tuple[DeliveryQueue, StateWatch | None]:
    """With `registry:` configured, the store queues seed 001's notices and the dispatcher delivers
    them (`delivery.registry`); without, the store is the dispatcher's queue as it is."""
    if config.registry is None:
        return store, None
    registry = config.registry
    store.enable_registry(EndpointSpec(registry.webhook_url, "webhook"))
    stand_in = registry_subscription(registry.webhook_url, registry.secret.get_secret_value())
    return RegistryQueue(store, stand_in), StateWatch(store, registry.state_poll_seconds, time.time)


def compile_files(config: Config) -> CompiledIngest | None:
    """What loading the config cannot check: the files `ingest` names (keys, schemas) read and its
    patterns compiled, and the connectors built (a region or a topic count they cannot serve).
    Raises one ConfigError listing every problem, each naming its key."""
    build_connectors(config)
    return None if config.ingest is None else compile_ingest(config.ingest, config.base_dir)


def build(config: Config, *, freeze_heap: bool = False, span_exporter: Any = None) -> Runtime:
    """Everything the server needs, from `config`. `freeze_heap` (the `serve` command's choice; not in
    tests, which start many servers in one process) freezes the heap once startup is done.
    `span_exporter` (an OpenTelemetry SpanExporter, for tests) receives the spans instead of OTLP."""
    ingest = compile_files(config)
    store = make_store(config)
    metrics = Metrics()
    auths = cxone_auths(config)
    store.observe_commit_batches(metrics.store_commit_batch_size.observe)
    if isinstance(store, PostgresStore):
        store.listener.observe(metrics.observe_store_listener)
    tracing = build_tracing(config.tracing, span_exporter)
    services = Services(config=config, store=store, tokens=TokenService(config.auth, b""), metrics=metrics)
    services.cxone_connectors = frozenset(auths)
    services.tracing = tracing
    if config.audit is not None:
        services.audit = AuditLog(resolve_path(config, config.audit.path))
    gateway = None
    extra = [inbound.build_router(services)]
    if config.connectors.aws_eventbridge is not None:
        extra.append(sources.build_router(services, config.connectors.aws_eventbridge))
    fast: dict[tuple[str, str], Any] = {}
    if ingest is not None:
        # the per-subject rate limit lives in the store, so every process and replica shares it
        gateway = IngestGateway(
            ingest, traced_append(tracing, store.append_event), SystemClock(), rate_limits=store
        )
        services.ingest = gateway
        handler = ingest_route.make_ingest(services, gateway, ingest.max_body_bytes)
        extra.append(ingest_route.build_router(handler))
        fast[("POST", ingest_route.PATH)] = handler
    queue, watch = _registry(config, store)
    dispatcher = None
    if config.delivery.enabled:
        dispatcher = Dispatcher(
            queue,
            _endpoints(config, auths),
            config.delivery,
            metrics,
            guard=_guard(config, store, metrics),
            tracing=tracing,
        )
        store.add_listener(dispatcher.notify)

    housekeeper = Housekeeper(store, config.store.retention_days)
    replayer = Replayer(store)
    services.wake_replays = replayer.wake
    connectors = build_connectors(config, auths)
    runner = connector_runner(store, connectors)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        services.tokens = TokenService(config.auth, await store.secret(TOKEN_KEY))
        dashboard = await start_dashboard(services, store.secret)
        if dispatcher is not None:
            dispatcher.start()
        housekeeper.start()
        replayer.start()
        if watch is not None:
            watch.start()
        if gateway is not None:
            await gateway.start()
        if runner is not None:
            runner.start()
        services.readiness.ready = True
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            services.readiness.ready = False
            await stop_dashboard(dashboard)
            if runner is not None:
                await runner.stop()
            await housekeeper.stop()
            await replayer.stop()
            if watch is not None:
                await watch.stop()
            if dispatcher is not None:
                await dispatcher.stop()
            if gateway is not None:
                await gateway.aclose()
            if services.audit is not None:
                await services.audit.drain()
            for auth in auths.values():
                await auth.aclose()
            await store.close()
            tracing.shutdown()

    app = create_app(services, lifespan, extra_routers=extra, fast_routes=fast)
    return Runtime(config, services, store, dispatcher, app, auths)


def build_connectors(config: Config, auths: dict[str, cxone.CxoneAuth] | None = None) -> list[Connector]:
    """One connector per `connectors.genesys[i]` (and `connectors.cxone[i]`); raises ConfigError
    naming the key when one cannot run (an unknown region, more topics than 20 channels hold)."""
    from ccbridge.connectors.genesys import GenesysConnector

    found: list[Connector] = []
    for i, genesys in enumerate(config.connectors.genesys):
        found.append(GenesysConnector(genesys, f"connectors.genesys[{i}]"))
    if auths is not None:
        found.extend(cxone.build(entry, auths[entry.name]) for entry in config.connectors.cxone)
    return found


def connector_runner(
    store: SqliteStore | PostgresStore, connectors: list[Connector]
) -> ConnectorRunner | None:
    """The runner holding each connector's lease in `store` (None without connectors)."""
    if not connectors:
        return None
    sources = {c.name: f"{c.kind}/{c.name}" for c in connectors}
    return ConnectorRunner(store, connectors, StoreSink(store, time.time, sources))
