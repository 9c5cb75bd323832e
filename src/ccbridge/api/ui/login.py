"""Logging in and out of the dashboard with an OAuth2 client's id and secret.

The credentials are checked by the token service, exactly as `POST /api/v2/oauth/token` checks
them (constant time, unknown ids included). The login form is protected against login CSRF by a
double-submit token: a random value in a SameSite=Strict cookie that the form must repeat. Nothing
of the secret is kept or logged; the session cookie (`session.py`) is HttpOnly, SameSite=Strict,
limited to /ui, Secure when the request came over HTTPS, and lasts `auth.token_ttl_seconds`.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ccbridge.api.ui.session import COOKIE, READ
from ccbridge.api.ui.web import PREFIX, Dashboard, Forbidden, read_form, safe_next
from ccbridge.errors import AuthError

LOGIN_CSRF = "ccbridge_login_csrf"


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


class LoginRoutes:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def _form(self, request: Request, status: int = 200, error: str | None = None) -> Response:
        token = secrets.token_urlsafe(16)
        response = self.dashboard.render(
            "login.html",
            status,
            title="Log in",
            login_csrf=token,
            next=safe_next(request.query_params.get("next")),
            error=error,
            client_id="",
        )
        _cookie(response, request, LOGIN_CSRF, token, 3600)
        return response

    async def show(self, request: Request) -> Response:
        if self.dashboard.session(request) is not None:
            return RedirectResponse(safe_next(request.query_params.get("next")), 303)
        return self._form(request)

    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        expected = request.cookies.get(LOGIN_CSRF, "")
        if not expected or not hmac.compare_digest(expected, str(form.get("csrf", ""))):
            raise Forbidden("the login form has expired: reload it and try again")
        if not self.dashboard.services.session_key:
            return self._form(request, 503, "the server is still starting; try again in a moment")
        try:
            client = self.dashboard.services.tokens.authenticate(
                str(form.get("client_id", "")), str(form.get("client_secret", ""))
            )
        except AuthError:
            return self._form(request, 401, "client authentication failed: check the client id and secret")
        cookie, session = self.dashboard.codec.issue(client)
        if READ not in session.scopes:
            return self._form(request, 403, f"this client lacks the scope {READ}, which the dashboard needs")
        response = RedirectResponse(safe_next(str(form.get("next", ""))), 303)
        _cookie(response, request, COOKIE, cookie, self.dashboard.codec.ttl_seconds)
        response.delete_cookie(LOGIN_CSRF, path=PREFIX)
        return response

    async def logout(self, request: Request) -> Response:
        session = self.dashboard.session(request)
        if session is not None:
            form = await read_form(request)
            if not self.dashboard.codec.csrf_valid(session, str(form.get("csrf", ""))):
                raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again")
        response = RedirectResponse(PREFIX + "/login", 303)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response


def routes(dashboard: Dashboard) -> list[Route]:
    handlers = LoginRoutes(dashboard)
    return [
        Route("/login", handlers.show, methods=["GET"]),
        Route("/login", handlers.login, methods=["POST"]),
        Route("/logout", handlers.logout, methods=["POST"]),
    ]
