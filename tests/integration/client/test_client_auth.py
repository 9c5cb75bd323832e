"""The OAuth2 client-credentials token cache (`ClientCredentialsAuth`) against the real token endpoint."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from client_support import (
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    HOST,
    SETTINGS,
    Bridge,
    Fault,
    Wire,
    running_app,
)
from pydantic import SecretStr

from ccbridge.client import ApiAuthError, BridgeClient, ClientCredentialsAuth
from ccbridge.errors import AuthError

TOKEN_URL = f"{BASE_URL}/api/v2/oauth/token"


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder for a second server: its own store, so its own token signing key."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


async def test_hundred_concurrent_calls_share_one_token_request(bridge: Bridge, client: BridgeClient) -> None:
    """100 tasks that all need a token while the first token request is in flight cause that one request."""
    release = bridge.wire.hold_tokens()
    calls = [asyncio.create_task(client.list_subscriptions()) for _ in range(100)]
    await bridge.wire.token_arrived.wait()
    assert len(bridge.wire.token_tries) == 1 and bridge.wire.tries == []
    release.set()
    await asyncio.gather(*calls)
    assert len(bridge.wire.token_tries) == 1
    assert len(bridge.wire.tries) == 100


async def test_token_is_renewed_a_margin_before_it_expires(tmp_path: Path) -> None:
    """With expires_in=100 s the margin is min(60 s, 10 %) = 10 s: reused at 89 s, renewed at 91 s."""
    now = [1000.0]
    async with running_app(tmp_path, {"auth": {"token_ttl_seconds": 100}}) as runtime:
        wire = Wire({HOST: runtime.app})
        auth = ClientCredentialsAuth(TOKEN_URL, CLIENT_ID, CLIENT_SECRET, wire, clock=lambda: now[0])
        first = await auth.token()
        now[0] += 89
        assert await auth.token() == first
        now[0] += 2
        assert await auth.token() != first
    assert len(wire.token_tries) == 2


async def test_long_lived_token_uses_the_sixty_second_margin(bridge: Bridge) -> None:
    """With the server's default expires_in=3600 s the token is renewed 60 s before expiry, not 360 s."""
    now = [0.0]
    auth = ClientCredentialsAuth(TOKEN_URL, CLIENT_ID, CLIENT_SECRET, bridge.wire, clock=lambda: now[0])
    await auth.token()
    now[0] = 3539
    await auth.token()
    assert len(bridge.wire.token_tries) == 1
    now[0] = 3541
    await auth.token()
    assert len(bridge.wire.token_tries) == 2


async def test_a_401_forces_one_refresh_and_one_resend(
    bridge: Bridge, client: BridgeClient, elsewhere: Path
) -> None:
    """A server rebuilt on a new store refuses the cached token: it is renewed once and the call resent."""
    await client.list_subscriptions()
    async with running_app(elsewhere) as rebuilt:
        bridge.wire.apps[HOST] = rebuilt.app
        await client.list_subscriptions()
    first, refused, resent = (r.headers["Authorization"] for r in bridge.wire.tries)
    assert first == refused != resent
    assert len(bridge.wire.token_tries) == 2


async def test_a_second_401_is_not_retried_again(bridge: Bridge, elsewhere: Path) -> None:
    """Tokens from another server's token endpoint are refused even fresh: ApiAuthError after one refresh."""
    settings = SETTINGS.model_copy(update={"token_url": "http://tokens.test/api/v2/oauth/token"})
    async with running_app(elsewhere) as other, bridge.client(settings=settings) as client:
        bridge.wire.apps["tokens.test"] = other.app
        with pytest.raises(ApiAuthError) as caught:
            await client.list_subscriptions()
    assert caught.value.status == 401
    assert len(bridge.wire.token_tries) == 2
    assert len(bridge.wire.tries) == 2


async def test_many_401s_for_one_revoked_token_cause_one_refresh(
    bridge: Bridge, client: BridgeClient, elsewhere: Path
) -> None:
    """Tasks that all hold the same refused token renew it once, not once each."""
    await client.list_subscriptions()
    async with running_app(elsewhere) as rebuilt:
        bridge.wire.apps[HOST] = rebuilt.app
        await asyncio.gather(*(client.list_subscriptions() for _ in range(20)))
    assert len(bridge.wire.token_tries) == 2


async def test_form_style_sends_credentials_and_scopes_in_the_body(bridge: Bridge) -> None:
    """auth_style=form (seed 001) puts client_id/client_secret in the form; scopes are space-joined."""
    settings = SETTINGS.model_copy(
        update={"scopes": ["eventbridge:events:write", "eventbridge:subscriptions:read"]}
    )
    async with bridge.client(settings=settings) as client:
        await client.token()
    (request,) = bridge.wire.token_tries
    assert _form(request) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "eventbridge:events:write eventbridge:subscriptions:read",
    }
    assert "Authorization" not in request.headers
    assert request.url.path == "/api/v2/oauth/token"


async def test_basic_style_sends_credentials_as_http_basic(bridge: Bridge) -> None:
    """auth_style=basic (seeds 003/004) sends HTTP Basic and keeps the secret out of the body."""
    async with bridge.client(settings=SETTINGS.model_copy(update={"auth_style": "basic"})) as client:
        await client.list_subscriptions()
    (request,) = bridge.wire.token_tries
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert _form(request) == {"grant_type": "client_credentials"}


async def test_refused_credentials_raise_auth_error_without_the_secret(bridge: Bridge) -> None:
    """A 401 invalid_client from the token endpoint is an ApiAuthError (an AuthError) without the secret."""
    settings = SETTINGS.model_copy(update={"client_secret": SecretStr("very-secret-1")})
    async with bridge.client(settings=settings) as client:
        with pytest.raises(AuthError) as caught:
            await client.list_subscriptions()
    assert isinstance(caught.value, ApiAuthError) and caught.value.code == "invalid_client"
    assert "very-secret-1" not in str(caught.value)
    assert bridge.wire.tries == []


async def test_token_endpoint_outage_is_retried(bridge: Bridge, client: BridgeClient) -> None:
    """The token request goes through the retrying transport: a 503 then the real answer yields a token."""
    bridge.wire.fail_next(Fault(503, "0"), token=True)
    assert await client.token()
    assert len(bridge.wire.token_tries) == 2
