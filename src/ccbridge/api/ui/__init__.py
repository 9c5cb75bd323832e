"""The dashboard at `/ui`: server-rendered pages (Jinja2, vendored htmx, no CDN) behind the API's
OAuth2 clients.

Why under `api/`: the dashboard reads the store and acts through it exactly as the API's routes do
(`ApiStore`), and like them it never delivers; it is one more face of the same app, mounted by
`api.app` and kept out of the OpenAPI document.

Pages are modules with a `routes(dashboard)` function, listed in `PAGES`, and shown in `NAV` (a page
not built is simply not there). Session and CSRF rules are in `session.py` and `web.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from ccbridge.api.services import Services
from ccbridge.api.ui import auditlog, deadletters, endpoints, events, login, overview, replay, subscriptions
from ccbridge.api.ui.web import PREFIX, Dashboard, NavItem, SecurityHeaders, error_handlers
from ccbridge.observability.history import run_sampler

__all__ = ["NAV", "PREFIX", "build_ui", "start_dashboard", "stop_dashboard"]

SESSION_KEY = "ui-session-signing-key"
NAV = (
    NavItem("overview", "/", "Overview"),
    NavItem("subscriptions", "/subscriptions", "Subscriptions"),
    NavItem("events", "/events", "Events"),
    NavItem("deadletters", "/deadletters", "Dead letters"),
    NavItem("replay", "/replay", "Replay"),
    NavItem("audit", "/audit", "Audit log"),
)
PAGES = (login, overview, subscriptions, endpoints, events, deadletters, replay, auditlog)


def build_ui(services: Services) -> Starlette:
    """The dashboard app, to be mounted at `PREFIX`."""
    dashboard = Dashboard(services, NAV)
    routes: list[BaseRoute] = [route for page in PAGES for route in page.routes(dashboard)]
    routes.append(Mount("/static", StaticFiles(packages=[("ccbridge.api.ui", "static")]), name="static"))
    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers=error_handlers(dashboard),
    )


async def start_dashboard(
    services: Services, secret: Callable[[str], Awaitable[bytes]]
) -> asyncio.Task[None]:
    """Once the store is open: the session key from it (the same for every replica) and the sampler
    of the overview's per-minute charts. Returns the sampler, for `stop_dashboard`."""
    services.session_key = await secret(SESSION_KEY)
    return asyncio.create_task(run_sampler(services.history, services.metrics, services.now))


async def stop_dashboard(sampler: asyncio.Task[None]) -> None:
    sampler.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sampler
