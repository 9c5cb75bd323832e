"""`POST /api/v2/oauth/token` and `/oauth/token`: OAuth2 client credentials (RFC 6749 §4.4).

Credentials come in the form body (seed 001) or as HTTP Basic (seeds 003, 004). Errors are the
RFC 6749 JSON bodies, not problem+json, because OAuth2 clients parse those.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api.http import read_body
from ccbridge.api.services import Services
from ccbridge.errors import AuthError, InputError


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


def build_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["oauth"])

    async def token(request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _oauth_error(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
        try:
            raw = await read_body(request, 16_384)
        except InputError:
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
        scopes = form.get("scope", "").split() or None
        try:
            client = services.tokens.authenticate(client_id, secret)
            issued = services.tokens.issue(client, scopes)
        except AuthError as exc:
            status = 401 if exc.code == "invalid_client" else 400
            return _oauth_error(status, exc.code, str(exc))
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

    for path in ("/api/v2/oauth/token", "/oauth/token"):
        router.add_api_route(
            path, token, methods=["POST"], summary="OAuth2 client-credentials token", response_model=None
        )
    return router
