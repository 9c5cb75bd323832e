"""The OAuth2 client-credentials token cache (`ClientCredentialsAuth`) as the client uses it."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import parse_qs

import httpx
import pytest
from client_fakes import SETTINGS, FakeApi, make_client
from pydantic import SecretStr

from ccbridge.client import ApiAuthError, ApiConfig, ClientCredentialsAuth
from ccbridge.errors import AuthError


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


async def test_hundred_concurrent_calls_share_one_token_request(fake: FakeApi) -> None:
    """100 tasks that all need a token at once cause exactly one token request."""
    fake.token_delay = 0.02
    async with make_client(fake) as client:
        await asyncio.gather(*(client.list_subscriptions() for _ in range(100)))
    assert len(fake.token_requests) == 1
    assert len(fake.requests) == 100


async def test_token_is_renewed_a_margin_before_it_expires() -> None:
    """With expires_in=100 s the margin is min(60 s, 10 %) = 10 s: reused at 89 s, renewed at 91 s."""
    now = [1000.0]
    fake = FakeApi(expires_in=100)
    auth = ClientCredentialsAuth(
        "http://bridge.test/api/v2/oauth/token",
        "cli",
        "pw",
        httpx.MockTransport(fake.handler),
        clock=lambda: now[0],
    )
    first = await auth.token()
    now[0] += 89
    assert await auth.token() == first
    now[0] += 2
    assert await auth.token() != first
    assert len(fake.token_requests) == 2


async def test_long_lived_token_uses_the_sixty_second_margin() -> None:
    """With expires_in=3600 s the token is renewed 60 s before expiry, not 360 s."""
    now = [0.0]
    fake = FakeApi(expires_in=3600)
    auth = ClientCredentialsAuth(
        "http://t/api/v2/oauth/token", "cli", "pw", httpx.MockTransport(fake.handler), clock=lambda: now[0]
    )
    await auth.token()
    now[0] = 3539
    await auth.token()
    assert len(fake.token_requests) == 1
    now[0] = 3541
    await auth.token()
    assert len(fake.token_requests) == 2


async def test_a_401_forces_one_refresh_and_one_resend(fake: FakeApi) -> None:
    """A token the server stopped accepting is renewed once and the request resent with the new one."""
    async with make_client(fake) as client:
        await client.list_subscriptions()
        fake.valid_tokens.clear()  # server-side revocation
        await client.list_subscriptions()
    assert len(fake.token_requests) == 2
    assert [h["authorization"] for h in fake.seen] == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


async def test_a_second_401_is_not_retried_again(fake: FakeApi) -> None:
    """When even the fresh token is refused the call fails with ApiAuthError after one refresh."""

    async def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            return await fake.handler(request)
        fake.requests.append(request)
        return httpx.Response(401, json={"title": "unauthorized"})

    async with make_client(fake) as client:
        client._transport._inner = httpx.MockTransport(refuse)
        with pytest.raises(ApiAuthError) as caught:
            await client.list_subscriptions()
    assert caught.value.status == 401
    assert len(fake.token_requests) == 2
    assert len(fake.requests) == 2


async def test_many_401s_for_one_revoked_token_cause_one_refresh(fake: FakeApi) -> None:
    """Tasks that all hold the same revoked token renew it once, not once each."""
    async with make_client(fake) as client:
        await client.list_subscriptions()
        fake.valid_tokens.clear()
        await asyncio.gather(*(client.list_subscriptions() for _ in range(20)))
    assert len(fake.token_requests) == 2


async def test_form_style_sends_credentials_and_scopes_in_the_body(fake: FakeApi) -> None:
    """auth_style=form (seed 001) puts client_id/client_secret in the form; scopes are space-joined."""
    settings = SETTINGS.model_copy(
        update={"scopes": ["eventbridge:events:write", "eventbridge:subscriptions:read"]}
    )
    async with make_client(fake, settings=settings) as client:
        await client.token()
    request = fake.token_requests[0]
    assert _form(request) == {
        "grant_type": "client_credentials",
        "client_id": "cli",
        "client_secret": "s3cret-value-xyz",
        "scope": "eventbridge:events:write eventbridge:subscriptions:read",
    }
    assert "Authorization" not in request.headers
    assert request.url.path == "/api/v2/oauth/token"


async def test_basic_style_sends_credentials_as_http_basic(fake: FakeApi) -> None:
    """auth_style=basic (seeds 003/004) sends HTTP Basic and keeps the secret out of the body."""
    settings = SETTINGS.model_copy(update={"auth_style": "basic"})
    async with make_client(fake, settings=settings) as client:
        await client.token()
    request = fake.token_requests[0]
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"cli:s3cret-value-xyz").decode()
    assert _form(request) == {"grant_type": "client_credentials"}


async def test_refused_credentials_raise_auth_error_without_the_secret() -> None:
    """A 401 invalid_client from the token endpoint is an ApiAuthError (an AuthError) without the secret."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    settings = ApiConfig(base_url="http://t", client_id="cli", client_secret=SecretStr("very-secret-1"))
    async with make_client(FakeApi(), settings=settings) as client:
        client._transport._inner = httpx.MockTransport(handler)
        with pytest.raises(AuthError) as caught:
            await client.list_subscriptions()
    assert isinstance(caught.value, ApiAuthError) and caught.value.code == "invalid_client"
    assert "very-secret-1" not in str(caught.value)


async def test_token_endpoint_outage_is_retried(fake: FakeApi) -> None:
    """The token request goes through the retrying transport: a 503 then 200 yields a token."""
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"})])

    async def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            nxt = next(answers, None)
            if nxt is not None:
                return nxt
        return await fake.handler(request)

    async with make_client(fake) as client:
        client._transport._inner = httpx.MockTransport(flaky)
        assert await client.token() == "tok-1"
