"""The one composition root: config -> adapters -> app and dispatcher. Nothing else constructs
adapters; everything else receives them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from ccbridge.api import inbound
from ccbridge.api.app import create_app
from ccbridge.api.services import Services
from ccbridge.api.tokens import TokenService
from ccbridge.config import Config, resolve_path
from ccbridge.core.ports import Endpoint
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.delivery.dispatcher import Dispatcher
from ccbridge.endpoints.grpc import GrpcEndpoint
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.endpoints.webhook import WebhookEndpoint
from ccbridge.observability.metrics import Metrics
from ccbridge.stores.sqlite import SqliteStore

TOKEN_KEY = "oauth-token-signing-key"


@dataclass
class Runtime:
    """Everything one server process runs; `app` is the ASGI app to serve."""

    config: Config
    services: Services
    store: SqliteStore
    dispatcher: Dispatcher | None
    app: Any


def _endpoints(config: Config) -> dict[str, Endpoint]:
    policy = NetworkPolicy(config.delivery.allow_private_networks, config.delivery.allowed_networks)
    ca_file = str(resolve_path(config, config.delivery.grpc_ca_file)) if config.delivery.grpc_ca_file else None
    return {
        "webhook": WebhookEndpoint(policy, limit_per_host=config.delivery.per_endpoint_concurrency),
        "grpc": GrpcEndpoint(ca_file),
    }


def build(config: Config) -> Runtime:
    store = SqliteStore(str(resolve_path(config, config.store.sqlite_path)), SubscriptionRouter())
    metrics = Metrics()
    services = Services(config=config, store=store, tokens=TokenService(config.auth, b""), metrics=metrics)
    services.extras["ready"] = False
    dispatcher = None
    if config.delivery.enabled:
        dispatcher = Dispatcher(store, _endpoints(config), config.delivery, metrics)
        store.add_listener(dispatcher.notify)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        services.tokens = TokenService(config.auth, await store.secret(TOKEN_KEY))
        if dispatcher is not None:
            dispatcher.start()
        services.extras["ready"] = True
        try:
            yield
        finally:
            services.extras["ready"] = False
            if dispatcher is not None:
                await dispatcher.stop()
            await store.close()

    app = create_app(services, lifespan, extra_routers=[inbound.build_router(services)])
    return Runtime(config, services, store, dispatcher, app)
