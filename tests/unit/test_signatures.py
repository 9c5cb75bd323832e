"""Signing and verifying webhook signatures: spec vectors, rotation, tolerance, tampering, header case."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from ccbridge.core import signatures as sig
from ccbridge.errors import AuthError, BadSignature

# The reference vector of the Standard Webhooks spec (standard-webhooks/standard-webhooks,
# libraries/python/tests/test_webhooks.py::test_sign_function).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = 1_700_000_000.0
BODY = b'{"id":"evt_1","event":"routing:interaction:completed","data":{"duration":130}}'


def standard_headers(
    secret: str, ts: float = NOW, msg_id: str = "evt_1", body: bytes = BODY
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(ts)),
        "webhook-signature": sig.sign_standard(secret, msg_id, ts, body),
    }


def test_spec_vector_signs_exactly() -> None:
    """sign_standard reproduces the Standard Webhooks reference signature."""
    assert sig.sign_standard(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE


def test_spec_vector_verifies() -> None:
    """The reference message verifies as "standard" at its own timestamp."""
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TS), "webhook-signature": SPEC_SIGNATURE}
    assert sig.verify_inbound(headers, SPEC_BODY, [SPEC_SECRET], now=SPEC_TS) == "standard"


def test_spec_vector_one_bit_off_fails() -> None:
    """The spec's near-miss signature (last base64 char changed) is a mismatch."""
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TS),
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
    }
    with pytest.raises(AuthError, match="signature mismatch"):
        sig.verify_inbound(headers, SPEC_BODY, [SPEC_SECRET], now=SPEC_TS)


def test_standard_matches_hand_computed_hmac() -> None:
    """The standard scheme is HMAC-SHA256 over "id.timestamp.body" keyed with the base64-decoded secret."""
    secret = sig.generate_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"m1.1700000000." + BODY, hashlib.sha256).digest()).decode()
    assert sig.sign_standard(secret, "m1", NOW, BODY) == "v1," + expected


def test_genesys_key_is_the_whole_secret_string() -> None:
    """The Genesys header is hex HMAC of the body keyed with the secret's UTF-8 bytes, prefix and all."""
    secret = sig.generate_secret()
    expected = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert sig.sign_genesys(secret, BODY) == expected
    assert sig.verify_inbound({sig.GENESYS_HEADER: expected}, BODY, [secret], NOW) == "genesys"


def test_genesys_accepts_uppercase_hex() -> None:
    """Hex case does not matter for the Genesys header."""
    value = sig.sign_genesys("s3cret", BODY).upper()
    assert sig.verify_inbound({sig.GENESYS_HEADER: value}, BODY, ["s3cret"], NOW) == "genesys"


def test_hub_is_base64_and_hex_is_accepted() -> None:
    """X-Hub-Signature-256 is sha256=<base64>; verification also accepts sha256=<hex>."""
    digest = hmac.new(b"open-messaging", BODY, hashlib.sha256).digest()
    assert sig.sign_hub("open-messaging", BODY) == "sha256=" + base64.b64encode(digest).decode()
    for value in (sig.sign_hub("open-messaging", BODY), "sha256=" + digest.hex()):
        assert sig.verify_inbound({sig.HUB_HEADER: value}, BODY, ["open-messaging"], NOW) == "hub"


def test_hub_wrong_algorithm_is_a_mismatch() -> None:
    """A hub header with another algorithm name does not verify."""
    value = sig.sign_hub("k", BODY).replace("sha256=", "sha1=")
    with pytest.raises(AuthError, match="signature mismatch"):
        sig.verify_inbound({sig.HUB_HEADER: value}, BODY, ["k"], NOW)


def test_signed_headers_are_consistent() -> None:
    """signed_headers yields the four delivery headers, each verifying on its own."""
    secret = sig.generate_secret()
    headers = sig.signed_headers(secret, "evt_1", NOW + 0.9, BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature", sig.GENESYS_HEADER}
    assert headers["webhook-timestamp"] == str(int(NOW))
    assert sig.verify_inbound(headers, BODY, [secret], NOW) == "standard"
    assert sig.verify_genesys(headers[sig.GENESYS_HEADER], BODY, [secret])


def test_rotation_several_secrets() -> None:
    """A message signed with either the old or the new secret verifies against [old, new]."""
    old, new = sig.generate_secret(), sig.generate_secret()
    for signer in (old, new):
        assert sig.verify_inbound(standard_headers(signer), BODY, [old, new], NOW) == "standard"
        genesys = {sig.GENESYS_HEADER: sig.sign_genesys(signer, BODY)}
        assert sig.verify_inbound(genesys, BODY, [old, new], NOW) == "genesys"


def test_rotation_several_signatures_in_header() -> None:
    """A header with several space-separated signatures verifies when any one matches."""
    old, new = sig.generate_secret(), sig.generate_secret()
    headers = standard_headers(old)
    headers["webhook-signature"] = (
        "v1a,abc v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,!!! "
        + sig.sign_standard(new, "evt_1", NOW, BODY)
    )
    assert sig.verify_inbound(headers, BODY, [new], NOW) == "standard"
    with pytest.raises(AuthError, match="signature mismatch"):
        sig.verify_inbound(headers, BODY, [old], NOW)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamp_within_tolerance(offset: int) -> None:
    """Timestamps up to 300 s old or ahead are accepted."""
    secret = sig.generate_secret()
    assert sig.verify_inbound(standard_headers(secret, ts=NOW + offset), BODY, [secret], NOW) == "standard"


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_timestamp_outside_tolerance(offset: int) -> None:
    """Timestamps more than 300 s off in either direction are refused, even when correctly signed."""
    secret = sig.generate_secret()
    with pytest.raises(AuthError, match="timestamp outside tolerance"):
        sig.verify_inbound(standard_headers(secret, ts=NOW + offset), BODY, [secret], NOW)


def test_custom_tolerance() -> None:
    """The tolerance is a parameter."""
    secret = sig.generate_secret()
    headers = standard_headers(secret, ts=NOW - 20)
    with pytest.raises(AuthError, match="timestamp outside tolerance"):
        sig.verify_inbound(headers, BODY, [secret], NOW, tolerance=10)


@pytest.mark.parametrize("value", ["soon", "1.5", "-5", "1e9", "9" * 13, "١٧٠٠٠٠٠٠٠٠"])
def test_invalid_timestamp(value: str) -> None:
    """A timestamp that is not plain integer seconds is refused as invalid."""
    secret = sig.generate_secret()
    headers = standard_headers(secret) | {"webhook-timestamp": value}
    with pytest.raises(AuthError, match="invalid timestamp"):
        sig.verify_inbound(headers, BODY, [secret], NOW)


@pytest.mark.parametrize("field", ["body", "webhook-id", "webhook-timestamp"])
def test_tampering_is_a_mismatch(field: str) -> None:
    """Changing the body, the id or the timestamp breaks the standard signature."""
    secret = sig.generate_secret()
    headers, body = standard_headers(secret), BODY
    if field == "body":
        body = BODY.replace(b"130", b"131")
    elif field == "webhook-id":
        headers["webhook-id"] = "evt_2"
    else:
        headers["webhook-timestamp"] = str(int(NOW) - 1)
    with pytest.raises(AuthError, match="signature mismatch"):
        sig.verify_inbound(headers, body, [secret], NOW)


def test_tampered_body_fails_genesys_and_hub() -> None:
    """The body-only schemes refuse a changed body."""
    for header, value in (
        (sig.GENESYS_HEADER, sig.sign_genesys("k", BODY)),
        (sig.HUB_HEADER, sig.sign_hub("k", BODY)),
    ):
        with pytest.raises(AuthError, match="signature mismatch"):
            sig.verify_inbound({header: value}, BODY + b" ", ["k"], NOW)


def test_header_names_are_case_insensitive() -> None:
    """Headers are found whatever their case, in a plain dict or a CIMultiDict."""
    secret = sig.generate_secret()
    upper = {k.upper(): v for k, v in standard_headers(secret).items()}
    assert sig.verify_inbound(upper, BODY, [secret], NOW) == "standard"
    assert sig.verify_inbound(CIMultiDict(upper), BODY, [secret], NOW) == "standard"
    lower = {sig.GENESYS_HEADER.lower(): sig.sign_genesys(secret, BODY)}
    assert sig.verify_inbound(lower, BODY, [secret], NOW) == "genesys"


@pytest.mark.parametrize("drop", ["webhook-id", "webhook-timestamp"])
def test_incomplete_standard_headers_are_a_bad_signature(drop: str) -> None:
    """A webhook-signature without its id or timestamp is a signature there that cannot verify
    (BadSignature: 403), not a missing one (401)."""
    secret = sig.generate_secret()
    headers = standard_headers(secret)
    del headers[drop]
    with pytest.raises(BadSignature, match="incomplete signature"):
        sig.verify_inbound(headers, BODY, [secret], NOW)


def test_only_no_signature_header_at_all_is_missing() -> None:
    """Without any signature header the error is a plain AuthError (401), never BadSignature."""
    with pytest.raises(AuthError, match="missing signature") as caught:
        sig.verify_inbound({"webhook-id": "m"}, BODY, [sig.generate_secret()], NOW)
    assert not isinstance(caught.value, BadSignature)


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "application/json"}, {sig.GENESYS_HEADER: "  "}])
def test_no_signature_header(headers: dict[str, str]) -> None:
    """Without any (non-empty) signature header the reason is "missing signature"."""
    with pytest.raises(AuthError, match="missing signature"):
        sig.verify_inbound(headers, BODY, ["k"], NOW)


def test_strongest_scheme_decides() -> None:
    """A stale standard signature is not rescued by a valid, untimestamped Genesys signature."""
    secret = sig.generate_secret()
    headers = standard_headers(secret, ts=NOW - 3600) | {sig.GENESYS_HEADER: sig.sign_genesys(secret, BODY)}
    with pytest.raises(AuthError, match="timestamp outside tolerance"):
        sig.verify_inbound(headers, BODY, [secret], NOW)


def test_errors_never_echo_secret_or_expected_signature() -> None:
    """Failure messages contain neither the secret nor any expected signature."""
    secret = sig.generate_secret()
    expected = sig.signed_headers(secret, "evt_1", NOW, BODY)
    bad = {"webhook-id": "evt_1", "webhook-timestamp": str(int(NOW)), "webhook-signature": "v1,AAAA"}
    for headers in (bad, {sig.GENESYS_HEADER: "00"}, {sig.HUB_HEADER: "sha256=AA=="}):
        with pytest.raises(AuthError) as info:
            sig.verify_inbound(headers, BODY, [secret], NOW)
        text = str(info.value)
        assert secret not in text and secret.removeprefix("whsec_") not in text
        assert all(v not in text for v in expected.values() if len(v) > 10)


def test_empty_secrets_never_verify() -> None:
    """An empty secret in the list is ignored rather than accepting HMACs keyed with b""."""
    value = sig.sign_genesys("", BODY)
    with pytest.raises(AuthError, match="signature mismatch"):
        sig.verify_inbound({sig.GENESYS_HEADER: value}, BODY, [""], NOW)


def test_secret_without_prefix_keys_standard_with_its_bytes() -> None:
    """A legacy secret without whsec_ signs Standard Webhooks with its UTF-8 bytes as the key."""
    expected = hmac.new(b"legacy-secret", b"m.1700000000." + BODY, hashlib.sha256).digest()
    assert sig.sign_standard("legacy-secret", "m", NOW, BODY) == "v1," + base64.b64encode(expected).decode()


def test_broken_whsec_secret_is_skipped_in_verify() -> None:
    """A whsec_ secret that is not base64 cannot sign, and is skipped (not fatal) among valid ones."""
    good = sig.generate_secret()
    with pytest.raises(ValueError):
        sig.sign_standard("whsec_***", "m", NOW, BODY)
    assert sig.verify_inbound(standard_headers(good), BODY, ["whsec_***", good], NOW) == "standard"


@pytest.mark.parametrize("nbytes", [24, 32, 64])
def test_generate_secret(nbytes: int) -> None:
    """Generated secrets are whsec_ + base64 of nbytes random bytes, valid and distinct."""
    a, b = sig.generate_secret(nbytes), sig.generate_secret(nbytes)
    assert a.startswith("whsec_") and a != b
    assert len(base64.b64decode(a.removeprefix("whsec_"))) == nbytes
    assert sig.is_valid_secret(a)


@pytest.mark.parametrize("nbytes", [0, 23, 65])
def test_generate_secret_refuses_bad_sizes(nbytes: int) -> None:
    """Secret sizes outside 24..64 bytes are refused."""
    with pytest.raises(ValueError):
        sig.generate_secret(nbytes)


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
        "whsec_",
        "whsec_not base64!",
        "whsec_" + base64.b64encode(b"x" * 23).decode(),
        "whsec_" + base64.b64encode(b"x" * 65).decode(),
    ],
)
def test_is_valid_secret_refuses(secret: str) -> None:
    """Secrets without the prefix, not base64, or decoding outside 24..64 bytes are invalid."""
    assert not sig.is_valid_secret(secret)


def test_spec_secret_is_valid() -> None:
    """The spec's 24-byte example secret is valid."""
    assert sig.is_valid_secret(SPEC_SECRET)


@given(
    body=st.binary(max_size=2048), msg_id=st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s)
)
def test_roundtrip_any_body(body: bytes, msg_id: str) -> None:
    """Whatever the body bytes and id, signed headers verify and a flipped byte does not."""
    secret = sig.generate_secret()
    headers = sig.signed_headers(secret, msg_id, NOW, body)
    assert sig.verify_inbound(headers, body, [secret], NOW) == "standard"
    assert sig.verify_genesys(headers[sig.GENESYS_HEADER], body, [secret])
    if body:
        flipped = bytes([body[0] ^ 1]) + body[1:]
        assert not sig.verify_genesys(headers[sig.GENESYS_HEADER], flipped, [secret])
