"""The token endpoint (RFC 6749 client credentials) and bearer checks on the API routes."""

from __future__ import annotations

import base64

import httpx

from ccbridge.testing.server import RunningServer, running_server

TOKEN = "/api/v2/oauth/token"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def test_form_credentials_get_a_bearer_token(server: RunningServer) -> None:
    """Seed 001 posts client id and secret in the form body and gets a Bearer token with expires_in."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.post(
            TOKEN,
            data={
                "grant_type": "client_credentials",
                "client_id": server.client_id,
                "client_secret": server.client_secret,
            },
        )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert "eventbridge:events:write" in body["scope"].split()
    assert response.headers["cache-control"] == "no-store"


async def test_basic_credentials_and_scope_on_the_short_path(server: RunningServer) -> None:
    """Seed 004 uses HTTP Basic on /oauth/token with one scope; the answer names that scope."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "eventbridge:events:write"},
            headers={"Authorization": basic(server.client_id, server.client_secret)},
        )
    assert response.status_code == 200
    assert response.json()["scope"] == "eventbridge:events:write"


async def test_oauth_errors_follow_rfc_6749(server: RunningServer) -> None:
    """Wrong secret is invalid_client 401; wrong grant, missing grant and unknown scope are 400s."""
    cases = [
        (
            {"grant_type": "client_credentials", "client_id": server.client_id, "client_secret": "nope-nope"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "ghost", "client_secret": "whatever1"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "password", "client_id": server.client_id, "client_secret": server.client_secret},
            400,
            "unsupported_grant_type",
        ),
        ({"client_id": server.client_id, "client_secret": server.client_secret}, 400, "invalid_request"),
        (
            {
                "grant_type": "client_credentials",
                "client_id": server.client_id,
                "client_secret": server.client_secret,
                "scope": "admin:everything",
            },
            400,
            "invalid_scope",
        ),
    ]
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        for form, status, code in cases:
            response = await client.post(TOKEN, data=form)
            assert (response.status_code, response.json()["error"]) == (status, code), form
            assert server.client_secret not in response.text


async def test_api_routes_need_a_valid_bearer_token(server: RunningServer) -> None:
    """No token, a malformed one and a forged one are 401 with a WWW-Authenticate challenge."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        for headers in (
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Token abc"},
            {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"},
        ):
            response = await client.get("/api/v2/eventbridge/subscriptions", headers=headers)
            assert response.status_code == 401, headers
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")


async def test_missing_scope_is_403_and_singular_spelling_counts(server: RunningServer) -> None:
    """A token with only events:write cannot read subscriptions; seed 002's singular scope can."""
    events_only = await server.token("eventbridge:events:write")
    singular = await server.token("eventbridge:subscription:read")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        denied = await client.get(
            "/api/v2/eventbridge/subscriptions", headers={"Authorization": f"Bearer {events_only}"}
        )
        allowed = await client.get(
            "/api/v2/eventbridge/subscriptions", headers={"Authorization": f"Bearer {singular}"}
        )
    assert denied.status_code == 403
    assert allowed.status_code == 200


async def test_tokens_survive_a_restart_on_the_same_store(tmp_path: object) -> None:
    """The signing key lives in the store, so a token issued before a restart is still accepted."""
    from pathlib import Path

    folder = Path(str(tmp_path))
    async with running_server(folder=folder) as first:
        token = await first.token()
    async with running_server(folder=folder) as second, httpx.AsyncClient(base_url=second.base_url) as client:
        response = await client.get(
            "/api/v2/eventbridge/subscriptions", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200


async def test_expired_token_is_rejected(tmp_path: object) -> None:
    """A token past its expiry is a 401 even though its signature is valid."""
    import jwt

    from ccbridge.bootstrap import TOKEN_KEY

    async with running_server() as srv:
        assert srv.runtime is not None
        key = await srv.runtime.store.secret(TOKEN_KEY)
        stale = jwt.encode(
            {
                "iss": "ccbridge",
                "sub": srv.client_id,
                "iat": 1,
                "exp": 2,
                "scope": "eventbridge:subscriptions:read",
            },
            key,
            algorithm="HS256",
        )
        async with httpx.AsyncClient(base_url=srv.base_url) as client:
            response = await client.get(
                "/api/v2/eventbridge/subscriptions", headers={"Authorization": f"Bearer {stale}"}
            )
    assert response.status_code == 401
