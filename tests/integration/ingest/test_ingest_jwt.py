"""Token verification through `IngestGateway.handle`: what is accepted, and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import orjson
import pytest
from ingest_support import ORDER, Issuers, MakeGateway, section

from ccbridge.errors import AuthError
from ccbridge.ingest.keys import thumbprint
from ccbridge.ingest.testing import FakeClock, LegacyIssuer

BODY = orjson.dumps(ORDER)


def _seg(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token with exactly this header, claims and signature bytes."""
    return ".".join([_seg(json.dumps(header).encode()), _seg(json.dumps(claims).encode()), _seg(signature)])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refused(make_gateway: MakeGateway, headers: dict[str, str], **kwargs: Any) -> str:
    """The reason the gateway gives for refusing `headers`; asserts nothing was stored."""
    harness = await make_gateway(**kwargs)
    with pytest.raises(AuthError) as caught:
        await harness.gateway.handle(headers, BODY)
    assert harness.store.events == []
    reason = str(caught.value)
    assert len(reason) < 80 and "BEGIN" not in reason and "Traceback" not in reason
    return reason


@pytest.mark.parametrize("which", ["ec", "ec384", "rsa"])
async def test_tokens_of_each_configured_key_type_are_accepted_without_kid(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, which: str
) -> None:
    """ES256 (P-256), ES384 (P-384) and RS256 (RSA 2048) tokens verify against the PEM files without a kid."""
    harness = await make_gateway()
    issuer: LegacyIssuer = getattr(issuers, which)
    result = await harness.gateway.handle(issuer.bearer(clock.now()), BODY)
    assert result.status_code == 202
    assert harness.store.events[0].metadata["subject"] == "erp"


async def test_file_keys_are_selected_by_file_stem_or_thumbprint_kid(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A kid naming a key file's stem or its RFC 7638 thumbprint selects that key."""
    harness = await make_gateway()
    by_stem = issuers.ec384.token(clock.now(), headers={"kid": "erp-ec384"})
    by_thumb = issuers.rsa.token(
        clock.now(), headers={"kid": thumbprint(issuers.rsa.private_key.public_key())}
    )
    await harness.gateway.handle(bearer(by_stem), BODY)
    await harness.gateway.handle(bearer(by_thumb), orjson.dumps({**ORDER, "transaction_id": "T-2"}))
    assert len(harness.store.events) == 2


async def test_missing_authorization_header_is_refused(make_gateway: MakeGateway) -> None:
    """No Authorization header: 401 'missing bearer token'."""
    assert await refused(make_gateway, {}) == "missing bearer token"


@pytest.mark.parametrize("value", ["Basic ZXJwOnNlY3JldA==", "Bearer", "Bearer  a b", "token-without-scheme"])
async def test_malformed_authorization_header_is_refused(make_gateway: MakeGateway, value: str) -> None:
    """A header that is not `Bearer <token>` is refused as malformed."""
    assert "malformed Authorization header" in await refused(make_gateway, {"Authorization": value})


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "e30.e30", "W10.e30.", "x" * 20_000])
async def test_malformed_tokens_are_refused(make_gateway: MakeGateway, token: str) -> None:
    """Garbage, wrong segment counts, non-object headers and oversized tokens are refused as malformed."""
    assert "malformed token" in await refused(make_gateway, bearer(token))


async def test_token_signed_by_an_unknown_key_is_refused(make_gateway: MakeGateway, clock: FakeClock) -> None:
    """A well-formed ES256 token from a key not configured fails with 'bad signature'."""
    stranger = LegacyIssuer("ES256")
    assert await refused(make_gateway, stranger.bearer(clock.now())) == "bad signature"


async def test_tampered_claims_are_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """Changing the claims after signing breaks the signature."""
    header, _, signature = issuers.ec.token(clock.now()).split(".")
    claims = _seg(json.dumps(issuers.ec.claims(clock.now(), sub="admin")).encode())
    assert await refused(make_gateway, bearer(f"{header}.{claims}.{signature}")) == "bad signature"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_unsigned_alg_none_tokens_are_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, alg: str
) -> None:
    """`alg: none` in any spelling is refused before any key is consulted."""
    token = forge({"alg": alg, "typ": "JWT"}, issuers.ec.claims(clock.now()))
    assert await refused(make_gateway, bearer(token)) == "unsigned tokens (alg none) are not accepted"


async def test_hmac_token_keyed_with_the_public_key_is_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """The HS/RS confusion attack (HS256 with the public PEM as secret) is refused before key lookup."""
    header = {"alg": "HS256", "typ": "JWT", "kid": "erp-rsa"}
    unsigned = forge(header, issuers.rsa.claims(clock.now())).rsplit(".", 1)[0]
    mac = hmac.new(issuers.rsa.public_pem(), unsigned.encode(), hashlib.sha256).digest()
    reason = await refused(make_gateway, bearer(f"{unsigned}.{_seg(mac)}"))
    assert reason == "HMAC-signed tokens are not accepted"


@pytest.mark.parametrize("alg", ["PS256", "RS512"])
async def test_algorithms_outside_the_allow_list_are_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, alg: str
) -> None:
    """A correctly signed token whose algorithm is not in `algorithms` is refused."""
    token = issuers.rsa.token(clock.now(), alg=alg)
    assert await refused(make_gateway, bearer(token)) == "token algorithm is not allowed"


async def test_algorithm_that_does_not_fit_the_selected_key_is_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """An ES384 token naming the P-256 key's kid is refused (no curve/algorithm mixing)."""
    token = issuers.ec384.token(clock.now(), headers={"kid": "erp-ec"})
    assert await refused(make_gateway, bearer(token)) == "token algorithm does not fit the key"


async def test_expired_token_is_refused_beyond_the_leeway(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """exp 31 s ago (leeway 30) is refused; exp 29 s ago is still accepted."""
    now = clock.now()
    assert await refused(make_gateway, issuers.ec.bearer(now, exp=int(now) - 31)) == "token expired"
    harness = await make_gateway()
    await harness.gateway.handle(issuers.ec.bearer(now, exp=int(now) - 29), BODY)


async def test_token_not_yet_valid_is_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """nbf more than the leeway in the future is refused; within the leeway it is accepted."""
    now = clock.now()
    assert await refused(make_gateway, issuers.ec.bearer(now, nbf=int(now) + 31)) == "token not yet valid"
    harness = await make_gateway()
    await harness.gateway.handle(issuers.ec.bearer(now, nbf=int(now) + 29), BODY)


async def test_token_issued_in_the_future_is_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """iat more than the leeway ahead of the clock is refused."""
    token = issuers.ec.bearer(clock.now(), iat=int(clock.now()) + 120, exp=int(clock.now()) + 600)
    assert await refused(make_gateway, token) == "token issued in the future"


async def test_wrong_issuer_is_refused(make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock) -> None:
    """A token from another issuer is refused."""
    assert await refused(make_gateway, issuers.ec.bearer(clock.now(), iss="someone-else")) == "wrong issuer"


@pytest.mark.parametrize("aud", ["other-service", ["a", "b"]])
async def test_wrong_audience_is_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, aud: Any
) -> None:
    """A token for another audience is refused."""
    assert await refused(make_gateway, issuers.ec.bearer(clock.now(), aud=aud)) == "wrong audience"


@pytest.mark.parametrize("claim", ["exp", "iss", "aud"])
async def test_missing_required_claims_are_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, claim: str
) -> None:
    """Each default required claim (exp, iss, aud) missing is refused, naming the claim."""
    reason = await refused(make_gateway, issuers.ec.bearer(clock.now(), **{claim: None}))
    assert reason == f"missing required claim {claim}"


async def test_configured_required_claims_are_enforced(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A claim added to `required_claims` (jti) must be present."""
    doc = section(required_claims=["exp", "iss", "aud", "jti"])
    assert (
        await refused(make_gateway, issuers.ec.bearer(clock.now()), doc=doc) == "missing required claim jti"
    )


async def test_non_numeric_time_claims_are_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """An exp that is not a number is a malformed token, not an eternal one."""
    assert (
        await refused(make_gateway, issuers.ec.bearer(clock.now(), exp="tomorrow")) == "malformed exp claim"
    )


@pytest.mark.parametrize("kid", ["no-such-key", "erp-ec.pem"])
async def test_kid_matching_no_key_is_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, kid: str
) -> None:
    """A kid that names no configured key is refused even if the signature would verify."""
    token = issuers.ec.token(clock.now(), headers={"kid": kid})
    assert await refused(make_gateway, bearer(token)) == "kid matches no key"


async def test_non_string_kid_is_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A kid that is not a non-empty string is malformed."""
    token = forge({"alg": "ES256", "kid": 7}, issuers.ec.claims(clock.now()), b"x" * 64)
    assert await refused(make_gateway, bearer(token)) == "malformed token: bad kid"


async def test_auth_is_checked_before_the_body_is_read(make_gateway: MakeGateway) -> None:
    """A bad token with a non-JSON body is a 401, not a 400: nothing is parsed for unauthenticated callers."""
    harness = await make_gateway()
    with pytest.raises(AuthError):
        await harness.gateway.handle({"authorization": "Bearer x.y.z"}, b"\xff not json")


def test_pyjwt_refuses_none_itself_too(issuers: Issuers, clock: FakeClock) -> None:
    """Defence in depth: PyJWT with our algorithm list also rejects an alg-none token."""
    token = jwt.encode(issuers.ec.claims(clock.now()), "", algorithm="none")
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(token, issuers.ec.private_key.public_key(), algorithms=["ES256"])


class CountingES256:
    """PyJWT's ES256 algorithm object, counting signature checks."""

    def __init__(self) -> None:
        self.inner = jwt.algorithms.get_default_algorithms()["ES256"]
        self.calls = 0

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        self.calls += 1
        return bool(self.inner.verify(msg, key, sig))


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingES256:
    counter = CountingES256()
    algorithms = {**jwt.algorithms.get_default_algorithms(), "ES256": counter}
    monkeypatch.setattr("ccbridge.ingest.jwt_verify.get_default_algorithms", lambda: algorithms)
    return counter


async def test_reused_token_is_signature_checked_once(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, counting: CountingES256
) -> None:
    """A caller reusing one token pays for one signature check; distinct tokens each pay."""
    harness = await make_gateway()
    headers = issuers.ec.bearer(clock.now())
    for n in range(5):
        await harness.gateway.handle(headers, orjson.dumps({**ORDER, "transaction_id": f"T-{n}"}))
    assert counting.calls == 1
    await harness.gateway.handle(issuers.ec.bearer(clock.now(), jti="other"), BODY)
    assert counting.calls == 2


async def test_cached_token_still_expires(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A token remembered as verified is refused once its exp (plus leeway) has passed."""
    harness = await make_gateway()
    headers = issuers.ec.bearer(clock.now())
    await harness.gateway.handle(headers, BODY)
    clock.advance(300 + 30)
    with pytest.raises(AuthError, match="token expired"):
        await harness.gateway.handle(headers, BODY)


async def test_token_cache_can_be_disabled(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, counting: CountingES256
) -> None:
    """With `token_cache_size: 0` every request checks the signature."""
    harness = await make_gateway(token_cache_size=0)
    headers = issuers.ec.bearer(clock.now())
    for n in range(3):
        await harness.gateway.handle(headers, orjson.dumps({**ORDER, "transaction_id": f"T-{n}"}))
    assert counting.calls == 3


async def test_token_cache_is_bounded(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, counting: CountingES256
) -> None:
    """Past `token_cache_size` the oldest token is forgotten and verified again when it returns."""
    harness = await make_gateway(token_cache_size=2)
    tokens = [issuers.ec.bearer(clock.now(), jti=str(n)) for n in range(3)]
    for headers in [*tokens, tokens[2], tokens[0]]:
        await harness.gateway.handle(headers, BODY)
    assert counting.calls == 4


async def test_audience_lists_and_issuer_lists_match_any_member(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """A token whose aud list contains ours is accepted; configured issuer lists accept any listed issuer."""
    harness = await make_gateway(issuer=["legacy-erp", "legacy-crm"])
    await harness.gateway.handle(issuers.ec.bearer(clock.now(), aud=["other", "ccbridge"]), BODY)
    await harness.gateway.handle(
        issuers.ec.bearer(clock.now(), iss="legacy-crm"), orjson.dumps({**ORDER, "transaction_id": "T-2"})
    )
    assert len(harness.store.events) == 2


@pytest.mark.parametrize(("claim", "value"), [("iss", ["legacy-erp"]), ("sub", 42), ("aud", {"x": 1})])
async def test_claims_of_the_wrong_json_type_are_refused(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock, claim: str, value: Any
) -> None:
    """iss must be a string, sub a string, aud a string or list of strings."""
    claims = orjson.dumps(issuers.ec.claims(clock.now(), **{claim: value}))
    token = jwt.api_jws.PyJWS().encode(claims, issuers.ec.private_key, algorithm="ES256")
    reason = await refused(make_gateway, bearer(token))
    assert reason == {"iss": "wrong issuer", "sub": "malformed sub claim", "aud": "wrong audience"}[claim]


async def test_token_with_aud_is_refused_when_no_audience_is_configured(
    make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock
) -> None:
    """RFC 7519 §4.1.3: a recipient not named in a present aud must refuse the token."""
    reason = await refused(make_gateway, issuers.ec.bearer(clock.now()), doc=section(audience=None))
    assert reason == "wrong audience"


async def test_crit_header_is_refused(make_gateway: MakeGateway, issuers: Issuers, clock: FakeClock) -> None:
    """We implement no JWS extension, so a token with `crit` is refused even if correctly signed."""
    token = issuers.ec.token(clock.now(), headers={"crit": ["exp"]})
    assert await refused(make_gateway, bearer(token)) == "unsupported token header (crit/b64)"
