"""Keys from a JWKS URL served on loopback: caching, rotation, refresh throttling, outages."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from ingest_support import ORDER, Issuers, JwksServer, MakeGateway, section

from ccbridge.api.problems import answer_for
from ccbridge.errors import AuthError
from ccbridge.ingest import KeySetUnavailable
from ccbridge.ingest.testing import FakeClock, LegacyIssuer

BODY = orjson.dumps(ORDER)


def body(n: int) -> bytes:
    return orjson.dumps({**ORDER, "transaction_id": f"T-{n}"})


async def test_jwks_key_verifies_and_is_fetched_once(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """A token whose kid is in the JWKS verifies; later tokens use the cached keys without fetching."""
    issuer = LegacyIssuer("ES256", kid="2024-05")
    jwks_server.keys = [issuer.jwk()]
    harness = await make_gateway(jwks_url=jwks_server.url)
    for n in range(5):
        await harness.gateway.handle(issuer.bearer(clock.now()), body(n))
    assert len(harness.store.events) == 5
    assert jwks_server.hits == 1


async def test_start_prefetches_the_key_set(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """`start()` loads the JWKS before the first request."""
    jwks_server.keys = [LegacyIssuer("ES256", kid="a").jwk()]
    harness = await make_gateway(jwks_url=jwks_server.url)
    await harness.gateway.start()
    assert jwks_server.hits == 1


async def test_rotated_in_key_is_accepted_after_a_refresh(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """A newly published kid is accepted once the minimum interval allows a refresh; a removed kid is not."""
    old, new = LegacyIssuer("ES256", kid="old"), LegacyIssuer("ES256", kid="new")
    jwks_server.keys = [old.jwk()]
    harness = await make_gateway(jwks_url=jwks_server.url)
    await harness.gateway.handle(old.bearer(clock.now()), body(1))

    jwks_server.keys = [new.jwk()]
    with pytest.raises(AuthError, match="kid matches no key"):  # within the 60 s interval: no refetch
        await harness.gateway.handle(new.bearer(clock.now()), body(2))
    assert jwks_server.hits == 1

    clock.advance(61)
    await harness.gateway.handle(new.bearer(clock.now()), body(3))
    assert jwks_server.hits == 2
    with pytest.raises(AuthError, match="kid matches no key"):
        await harness.gateway.handle(old.bearer(clock.now()), body(4))
    assert [e.data["transaction_id"] for e in harness.store.events] == ["T-1", "T-3"]


async def test_flood_of_unknown_kids_costs_at_most_one_fetch_per_interval(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """Hundreds of tokens with made-up kids, concurrent or not, cause one coalesced fetch per interval."""
    real = LegacyIssuer("ES256", kid="real")
    jwks_server.keys = [real.jwk()]
    jwks_server.delay = 0.05
    harness = await make_gateway(jwks_url=jwks_server.url)

    async def attempt() -> BaseException | None:
        forged = LegacyIssuer("ES256", kid=str(uuid.uuid4()))
        try:
            await harness.gateway.handle(forged.bearer(clock.now()), BODY)
        except AuthError as exc:
            return exc
        return None

    results = await asyncio.gather(*(attempt() for _ in range(100)))  # cold cache: one shared fetch
    assert all(isinstance(r, AuthError) for r in results)
    assert jwks_server.hits == 1

    await asyncio.gather(*(attempt() for _ in range(100)))  # within the interval: no fetch at all
    assert jwks_server.hits == 1

    clock.advance(60)
    await asyncio.gather(*(attempt() for _ in range(100)))  # interval over: exactly one more
    assert jwks_server.hits == 2
    await harness.gateway.handle(real.bearer(clock.now()), BODY)
    assert jwks_server.hits == 2


async def test_unreachable_jwks_before_any_load_is_a_503_not_a_401(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """With no key ever loaded, verification is impossible: KeySetUnavailable with a Retry-After."""
    issuer = LegacyIssuer("ES256", kid="k1")
    jwks_server.keys = [issuer.jwk()]
    jwks_server.status = 500
    harness = await make_gateway(jwks_url=jwks_server.url)
    with pytest.raises(KeySetUnavailable) as caught:
        await harness.gateway.handle(issuer.bearer(clock.now()), BODY)
    assert answer_for(caught.value).status == 503 and caught.value.retry_after == 60

    jwks_server.status = 200
    clock.advance(60)
    result = await harness.gateway.handle(issuer.bearer(clock.now()), BODY)
    assert result.status_code == 202


async def test_failed_refresh_keeps_the_known_keys(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """A JWKS outage after a successful load does not drop the cached keys."""
    issuer = LegacyIssuer("ES256", kid="k1")
    jwks_server.keys = [issuer.jwk()]
    harness = await make_gateway(jwks_url=jwks_server.url)
    await harness.gateway.handle(issuer.bearer(clock.now()), body(1))
    jwks_server.status = 503
    clock.advance(400)  # past the 300 s cache age and the refresh interval
    await harness.gateway.handle(issuer.bearer(clock.now()), body(2))
    with pytest.raises(AuthError, match="kid matches no key"):
        await harness.gateway.handle(LegacyIssuer("ES256", kid="k2").bearer(clock.now()), body(3))
    await harness.gateway.handle(issuer.bearer(clock.now()), body(4))
    assert len(harness.store.events) == 3


async def test_stale_cache_is_refreshed_in_the_background(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """Past `jwks_cache_seconds` a request with a known kid is served at once and triggers a refetch."""
    issuer = LegacyIssuer("ES256", kid="k1")
    jwks_server.keys = [issuer.jwk()]
    jwks_server.delay = 0.2
    harness = await make_gateway(jwks_url=jwks_server.url)
    await harness.gateway.handle(issuer.bearer(clock.now()), body(1))
    clock.advance(301)
    await asyncio.wait_for(harness.gateway.handle(issuer.bearer(clock.now()), body(2)), timeout=0.15)
    for _ in range(50):
        if jwks_server.hits == 2:
            break
        await asyncio.sleep(0.02)
    assert jwks_server.hits == 2


async def test_token_without_kid_tries_jwks_keys_of_its_type(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """Without a kid, every JWKS key that fits the algorithm is tried."""
    ec, rsa = LegacyIssuer("ES256", kid="ec"), LegacyIssuer("RS256", kid="rsa")
    jwks_server.keys = [rsa.jwk(), LegacyIssuer("ES256", kid="other").jwk(), ec.jwk()]
    harness = await make_gateway(jwks_url=jwks_server.url)
    anonymous = LegacyIssuer("ES256")
    anonymous.private_key = ec.private_key
    await harness.gateway.handle(anonymous.bearer(clock.now()), body(1))
    assert len(harness.store.events) == 1


async def test_jwk_alg_restricts_its_key(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """A JWK published with alg RS256 does not verify a PS256 token even when PS256 is allowed."""
    issuer = LegacyIssuer("RS256", kid="r1")
    jwks_server.keys = [issuer.jwk()]
    harness = await make_gateway(jwks_url=jwks_server.url, algorithms=["RS256", "PS256"])
    with pytest.raises(AuthError, match="does not fit the key"):
        await harness.gateway.handle(
            {"Authorization": f"Bearer {issuer.token(clock.now(), alg='PS256')}"}, BODY
        )


async def test_symmetric_and_encryption_keys_in_the_jwks_are_ignored(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """`oct` keys and keys with use=enc never become verification keys; malformed members are skipped."""
    enc = LegacyIssuer("ES256", kid="enc")
    jwks_server.keys = [
        {"kty": "oct", "kid": "shared", "k": "c2VjcmV0"},
        {**enc.jwk(), "use": "enc"},
        {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AA", "y": "AA"},
        "not-an-object",  # type: ignore[list-item]
    ]
    harness = await make_gateway(jwks_url=jwks_server.url)
    with pytest.raises(AuthError, match="kid matches no key"):
        await harness.gateway.handle(enc.bearer(clock.now()), BODY)


async def test_file_keys_and_jwks_work_together(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock, issuers: Issuers
) -> None:
    """A section with both key files and a JWKS URL accepts tokens of either."""
    published = LegacyIssuer("ES256", kid="jwks-key")
    jwks_server.keys = [published.jwk()]
    doc = section(jwks_url=jwks_server.url)
    doc["jwt"]["public_key_files"] = ["keys/erp-ec.pem"]
    harness = await make_gateway(doc)
    await harness.gateway.handle(published.bearer(clock.now()), body(1))
    await harness.gateway.handle(issuers.ec.bearer(clock.now()), body(2))
    assert len(harness.store.events) == 2


async def test_removing_a_key_from_the_jwks_revokes_cached_tokens(
    make_gateway: MakeGateway, jwks_server: JwksServer, clock: FakeClock
) -> None:
    """A token verified before its key left the JWKS is refused after the next refresh, cache or not."""
    old, new = LegacyIssuer("ES256", kid="old"), LegacyIssuer("ES256", kid="new")
    jwks_server.keys = [old.jwk()]
    harness = await make_gateway(jwks_url=jwks_server.url)
    reused = old.bearer(clock.now(), exp=int(clock.now()) + 3600)
    await harness.gateway.handle(reused, body(1))
    jwks_server.keys = [new.jwk()]
    clock.advance(61)
    await harness.gateway.handle(new.bearer(clock.now()), body(2))  # unknown kid: refresh installs new set
    with pytest.raises(AuthError, match="kid matches no key"):
        await harness.gateway.handle(reused, body(3))
