"""The hot route served without the framework's middleware stack and router.

Why: the framework's layers (exception middlewares, route matching over every route) are a large
share of the server's CPU per request on the routes that take events at volume, and those routes
need none of them. Requests to it go straight to the same handler the
router registers (so OpenAPI still documents it), with the same problem+json error mapping and
headers indexed once (`api.headers`); every other request, and the lifespan, goes to the full app unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ccbridge.api.headers import IndexedHeaders
from ccbridge.api.problems import from_error, problem
from ccbridge.errors import BridgeError

log = structlog.get_logger("ccbridge.api")
Handler = Callable[[Request], Awaitable[Response]]


class FastPath:
    def __init__(self, app: ASGIApp, routes: dict[tuple[str, str], Handler]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = (
            self.routes.get((scope.get("method", ""), scope.get("path", "")))
            if scope["type"] == "http"
            else None
        )
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        request._headers = IndexedHeaders(scope)  # read through `request.headers`, cached there by Starlette
        try:
            response = await handler(request)
        except BridgeError as exc:
            response = from_error(exc, scope["path"])
        except ClientDisconnect:  # the client left mid-request: nobody to answer, not an error of ours
            log.info("client disconnected", path=scope["path"])
            return
        except Exception as exc:  # same answer as the app's catch-all: no stack trace to the caller
            log.error("unhandled error", path=scope["path"], error_type=type(exc).__name__)
            response = problem(500, "internal error", "the request could not be completed")
        await response(scope, receive, send)
