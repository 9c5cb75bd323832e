"""`POST /api/v2/oauth/token` and `/oauth/token`: OAuth2 client credentials (RFC 6749 §4.4).

Credentials come in the form body (seed 001) or as HTTP Basic (seeds 003, 004). Errors are the
RFC 6749 JSON bodies, not problem+json, because OAuth2 clients parse those; RFC 6749 §5.2 sets their
statuses (401 for a client that failed to authenticate, else 400), so they are chosen here rather
than in `api.problems`.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, schemas
from ccbridge.api.http import read_body
from ccbridge.api.services import Services
from ccbridge.errors import AuthError, TooLarge

FORM = "application/x-www-form-urlencoded"
TOKEN = docs.Doc(
    "OAuth2 client-credentials token",
    schemas.Token,
    body=schemas.TokenRequest,
    body_media=FORM,
    errors=(400, 401),
    error_model=schemas.OAuthError,
    error_media="application/json",
)


def _oauth_error(status: int, code: str, description: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="ccbridge"'
    return Response(
        orjson.dumps({"error": code, "error_description": description}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


class TokenRoute:
    """The token endpoint, bound to the services (their `tokens` is replaced once the store opens)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def token(self, request: Request) -> Response:
        """The answer, counted in `ccbridge_token_requests{result}`: issued, or its OAuth2 error."""
        response = await self._token(request)
        result = "issued"
        if response.status_code != 200:
            error = orjson.loads(bytes(response.body)).get("error") if response.body else None
            result = error if isinstance(error, str) else str(response.status_code)
        self.services.metrics.token_requests.labels(result).inc()
        return response

    async def _token(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith(FORM):
            return _oauth_error(400, "invalid_request", f"the body must be {FORM}")
        try:
            raw = await read_body(request, 16_384)
        except TooLarge:
            return _oauth_error(400, "invalid_request", "the body is too large")
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            code = "invalid_request" if "grant_type" not in form else "unsupported_grant_type"
            return _oauth_error(400, code, "grant_type must be client_credentials")
        basic = _basic(request.headers.get("authorization"))
        if basic is not None and ("client_id" in form or "client_secret" in form):
            return _oauth_error(400, "invalid_request", "use either HTTP Basic or form credentials, not both")
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        if not client_id:
            return _oauth_error(401, "invalid_client", "client credentials are required")
        tokens = self.services.tokens
        try:
            issued = tokens.issue(
                tokens.authenticate(client_id, secret), form.get("scope", "").split() or None
            )
        except AuthError as exc:
            return _oauth_error(401 if exc.code == "invalid_client" else 400, exc.code, str(exc))
        body = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        }
        return Response(
            orjson.dumps(body),
            media_type="application/json",
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


def build_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["oauth"])
    route = TokenRoute(services)
    for path in ("/api/v2/oauth/token", "/oauth/token"):
        docs.add(router, "POST", path, route.token, TOKEN)
    return router
