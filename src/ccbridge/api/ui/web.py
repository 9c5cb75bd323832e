"""What every dashboard page shares: templates, the session check, CSRF-checked forms, error pages.

Contract of the guards: `viewer` answers the session of a client with the read scope, else raises
`LoginRequired` (no valid session: the page redirects to the login form) or `Forbidden`; `actor`
additionally requires a POST whose form carries the session's CSRF token and a client with the
write scope. Pages check with `viewer`, actions with `actor`: hiding a button is a convenience,
the 403 is the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

import structlog
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccbridge.api.http import read_body
from ccbridge.api.problems import answer_for
from ccbridge.api.services import Services
from ccbridge.api.tokens import Principal
from ccbridge.api.ui.session import COOKIE, READ, Session, SessionCodec
from ccbridge.errors import BridgeError, FieldError, WrongMediaType

log = structlog.get_logger("ccbridge.ui")
PREFIX = "/ui"
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 1_048_576  # a pasted event for the pattern tester is the largest form
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


@dataclass(frozen=True, slots=True)
class NavItem:
    """A page in the navigation: its key (pages name the one they are), path under /ui and title."""

    key: str
    path: str
    title: str


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login form."""


class Forbidden(Exception):
    """The session may not do this (no write scope, a form without its CSRF token)."""


class Dashboard:
    """The services, the session codec and the templates, shared by every page's handlers."""

    def __init__(self, services: Services, nav: tuple[NavItem, ...]) -> None:
        self.services = services
        self.nav = nav
        self.codec = SessionCodec(
            lambda: services.session_key,
            lambda: services.config.auth.clients,
            services.config.auth.token_ttl_seconds,
            services.now,
        )
        self.env = Environment(
            loader=PackageLoader("ccbridge.api.ui", "templates"),
            autoescape=select_autoescape(["html", "svg"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def session(self, request: Request) -> Session | None:
        return self.codec.read(request.cookies.get(COOKIE))

    def viewer(self, request: Request) -> Session:
        session = self.session(request)
        if session is None:
            raise LoginRequired
        if READ not in session.scopes:
            raise Forbidden(f"this client lacks the scope {READ}")
        return session

    async def checked_form(self, request: Request) -> tuple[Session, FormData]:
        """A viewer's POST whose form carries its session's CSRF token (the pattern tester's reads too)."""
        session = self.viewer(request)
        form = await read_form(request)
        if not self.codec.csrf_valid(session, str(form.get("csrf", ""))):
            raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again")
        return session, form

    async def actor(self, request: Request) -> tuple[Session, FormData]:
        """The session and form of an action (see the module's contract)."""
        session, form = await self.checked_form(request)
        if not session.can_act:
            raise Forbidden("this client is read-only: it lacks the scope eventbridge:subscriptions:write")
        return session, form

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        session: Session | None = context.get("session")
        base = {
            "prefix": PREFIX,
            "nav": self.nav if session is not None else (),
            "active": "",
            "session": session,
            "csrf": self.codec.csrf_token(session) if session is not None else "",
            "can_act": session is not None and session.can_act,
            "message": None,
        }
        html = self.env.get_template(name).render({**base, **context})
        return HTMLResponse(html, status, headers={"Cache-Control": "no-store"})

    def error_page(self, request: Request, status: int, title: str, detail: str) -> HTMLResponse:
        return self.render("error.html", status, title=title, detail=detail, session=self.session(request))


async def read_form(request: Request) -> FormData:
    """A urlencoded form of at most `MAX_FORM_BYTES`; anything else is a 4xx `BridgeError`."""
    if not request.headers.get("content-type", "").startswith(FORM):
        raise WrongMediaType(FieldError("Content-Type", f"must be {FORM}"))
    raw = await read_body(request, MAX_FORM_BYTES)
    fields: list[tuple[str, str | UploadFile]] = list(
        parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    )
    return FormData(fields)


def principal(session: Session) -> Principal:
    """The session as the API's audit helper names an actor."""
    return Principal(session.client_id, session.scopes, session.expires_at)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"{PREFIX}/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):  # htmx follows this header with a full page load
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, 303)


def safe_next(value: str | None) -> str:
    """Where to go after login: a path under /ui only, never another site (`//host`, `/\\host`)."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/"


def error_handlers(dashboard: Dashboard) -> dict[Any, Any]:
    """Errors as HTML pages with the status the API would answer; nothing internal is shown."""

    async def login(request: Request, exc: Exception) -> Response:
        return login_redirect(request)

    async def forbidden(request: Request, exc: Exception) -> Response:
        return dashboard.error_page(request, 403, "Not allowed", str(exc))

    async def bridge(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BridgeError)
        status, title, _ = answer_for(exc)
        if status >= 500:
            log.warning("dashboard request failed", path=request.url.path, error_type=type(exc).__name__)
        detail = str(exc) if status < 500 else "the request could not be completed"
        return dashboard.error_page(request, status, title or type(exc).__name__, detail)

    async def http(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        return dashboard.error_page(request, status, "Not found" if status == 404 else "Error", str(exc))

    # anything else reaches the app's catch-all (a logged, detail-free 500), as on the API's routes
    return {LoginRequired: login, Forbidden: forbidden, BridgeError: bridge, HTTPException: http}


class SecurityHeaders:
    """Adds the CSP and framing headers to every dashboard response (static files included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
