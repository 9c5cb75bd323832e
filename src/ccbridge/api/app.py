"""The ASGI app: the routers of every part, problem+json errors, and the OpenAPI document
(`api.docs`: every route's request and response bodies, from the models of `api.schemas`)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ccbridge import __version__
from ccbridge.api import auth, deadletters, endpoint_health, events, history, ops, replays, subscriptions, ui
from ccbridge.api.docs import DocumentedApp
from ccbridge.api.fastpath import FastPath, Handler
from ccbridge.api.problems import handle_bridge_error, problem
from ccbridge.api.services import Services
from ccbridge.errors import BridgeError

log = structlog.get_logger("ccbridge.api")
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

DESCRIPTION = """A self-hosted event bridge serving the contact-center EventBridge API of NICE CXone and
Genesys Cloud (both dialects). A 2xx from an ingestion route means the event is durably stored
together with the deliveries it causes."""


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, str(exc.detail))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e["loc"][1:]) or "request", "message": e["msg"]}
        for e in exc.errors()
    ]
    return problem(422, "invalid request", errors=errors)


async def _client_gone(request: Request, exc: Exception) -> Response:
    """The client left before its request was read: not an error of ours, and nobody to answer."""
    log.info("client disconnected", path=request.url.path)
    return Response(status_code=400)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", path=request.url.path, error_type=type(exc).__name__)
    return problem(500, "internal error", "the request could not be completed")


def create_app(
    services: Services,
    lifespan: Lifespan | None = None,
    extra_routers: list[Any] | None = None,
    fast_routes: dict[tuple[str, str], Handler] | None = None,
) -> Any:
    """Build the app; `lifespan` (from bootstrap) opens the store and runs the dispatcher."""
    app = DocumentedApp(
        title="ccbridge",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    for module in (auth, subscriptions, events, deadletters, ops, history, replays):
        app.include_router(module.build_router(services))
    app.include_router(endpoint_health.build_router(services))
    for router in extra_routers or []:
        app.include_router(router)
    app.add_exception_handler(BridgeError, handle_bridge_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
    app.state.services = services
    app.mount(ui.PREFIX, ui.build_ui(services))
    return FastPath(app, {("POST", events.PATH): events.make_publish(services), **(fast_routes or {})})
