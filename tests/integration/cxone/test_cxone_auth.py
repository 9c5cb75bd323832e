"""CxoneAuth against a fake tenant: the password grant with the application's Basic credentials, the
tenant id from the id token driving discovery, renewal before expiry and once per stale token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from cxone_support import cxone_config

from ccbridge.connectors.cxone.auth import CxoneAuth
from ccbridge.errors import AuthError, Retryable
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.cxone import FakeCxone


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeCxone]:
    async with FakeCxone(clock=clock, tenant_id="t-42") as cx:
        yield cx


@pytest.fixture
async def auth(fake: FakeCxone, clock: ManualClock) -> AsyncIterator[CxoneAuth]:
    a = CxoneAuth(cxone_config(fake), clock)
    yield a
    await a.aclose()


async def test_a_token_is_granted_once_and_reused_while_valid(auth: CxoneAuth, fake: FakeCxone) -> None:
    """The fake grants only the password grant with the right key and Basic client: one grant serves
    every call until it is due."""
    first = await auth.access_token()
    assert await auth.access_token() == first
    assert fake.token_grants == 1 and first in fake.tokens


async def test_discovery_uses_the_tenant_id_of_the_id_token(auth: CxoneAuth, fake: FakeCxone) -> None:
    """The api_endpoint comes from discovery for the id token's tenantId, and is kept."""
    assert await auth.api_endpoint() == fake.url
    assert await auth.api_endpoint() == fake.url
    assert fake.requests.count(("GET", "/.well-known/cxone-configuration")) == 1


async def test_api_url_replaces_discovery(fake: FakeCxone, clock: ManualClock) -> None:
    """With api_url configured no discovery request is made."""
    auth = CxoneAuth(cxone_config(fake, api_url="http://127.0.0.1:9/"), clock)
    assert await auth.api_endpoint() == "http://127.0.0.1:9"
    assert ("GET", "/.well-known/cxone-configuration") not in fake.requests
    await auth.aclose()


async def test_the_token_is_renewed_inside_the_margin_before_expiry(
    auth: CxoneAuth, fake: FakeCxone, clock: ManualClock
) -> None:
    """61 s before expiry the token is still used; 59 s before, a new one is fetched first."""
    first = await auth.access_token()
    clock.advance(fake.token_lifetime - 61)
    assert await auth.access_token() == first
    clock.advance(2)
    assert await auth.access_token() != first
    assert fake.token_grants == 2


async def test_a_short_lived_token_is_renewed_at_half_its_life(fake: FakeCxone, clock: ManualClock) -> None:
    """A 60 s token (shorter than twice the margin) is renewed after 30 s, not at once."""
    fake.token_lifetime = 60
    auth = CxoneAuth(cxone_config(fake), clock)
    first = await auth.access_token()
    clock.advance(29)
    assert await auth.access_token() == first
    clock.advance(2)
    assert await auth.access_token() != first
    await auth.aclose()


async def test_concurrent_renewals_of_one_stale_token_fetch_once(auth: CxoneAuth, fake: FakeCxone) -> None:
    """Five callers that all saw a 401 for the same token share one new grant."""
    stale = await auth.access_token()
    renewed = await asyncio.gather(*(auth.renew(stale) for _ in range(5)))
    assert len(set(renewed)) == 1 and renewed[0] != stale
    assert fake.token_grants == 2


async def test_refused_credentials_are_an_auth_error_without_the_secret(
    fake: FakeCxone, clock: ManualClock
) -> None:
    """A wrong access key secret is refused (400 invalid_grant): AuthError, whose text has no secret."""
    auth = CxoneAuth(cxone_config(fake, access_key_secret="wrong-secret-value"), clock)
    with pytest.raises(AuthError) as caught:
        await auth.access_token()
    assert "wrong-secret-value" not in str(caught.value) and "HTTP 400" in str(caught.value)
    await auth.aclose()


async def test_a_wrong_client_secret_is_refused(fake: FakeCxone, clock: ManualClock) -> None:
    """The application's client secret travels as HTTP Basic: a wrong one is a 401, an AuthError."""
    auth = CxoneAuth(cxone_config(fake, client_secret="not-the-app-secret"), clock)
    with pytest.raises(AuthError, match="HTTP 401"):
        await auth.access_token()
    await auth.aclose()


async def test_token_endpoint_5xx_and_drops_are_retryable(auth: CxoneAuth, fake: FakeCxone) -> None:
    """A 503 (with its Retry-After) and a dropped connection are Retryable, and the next call succeeds."""
    fake.fail("token", 503, retry_after="4")
    with pytest.raises(Retryable) as caught:
        await auth.access_token()
    assert caught.value.retry_after == 4
    fake.drop("token")
    with pytest.raises(Retryable):
        await auth.access_token()
    assert await auth.access_token()


async def test_an_unknown_tenant_fails_discovery(auth: CxoneAuth, fake: FakeCxone) -> None:
    """Discovery answering 404 for the id token's tenant is a Retryable error naming api_endpoint."""
    fake.tenant_id = "another-tenant"
    await auth.access_token()  # the id token names another-tenant
    fake.tenant_id = "t-42"  # ... which the discovery service does not know
    with pytest.raises(Retryable, match="api_endpoint"):
        await auth.api_endpoint()
