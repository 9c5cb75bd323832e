"""Verification keys: which algorithms each key type may verify, JWK parsing, thumbprints."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import RSAAlgorithm

from ccbridge.ingest.keys import from_jwk, key_algorithms, thumbprint
from ccbridge.ingest.testing import LegacyIssuer

RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
    "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdA"
    "ZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-k"
    "EgU8awapJzKnqDKgw"
)
ALL = {"ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"}


def test_thumbprint_matches_the_rfc_7638_example() -> None:
    """The SHA-256 JWK thumbprint of RFC 7638 §3.1's RSA key is the RFC's value."""
    key = RSAAlgorithm.from_jwk({"kty": "RSA", "n": RFC7638_N, "e": "AQAB"})
    assert isinstance(key, rsa.RSAPublicKey)
    assert thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_each_key_type_fits_only_its_algorithms() -> None:
    """P-256 fits ES256 only, P-384 ES384 only, RSA the RS/PS family, Ed25519 EdDSA; small RSA nothing."""
    assert key_algorithms(ec.generate_private_key(ec.SECP256R1()).public_key()) == {"ES256"}
    assert key_algorithms(ec.generate_private_key(ec.SECP384R1()).public_key()) == {"ES384"}
    assert "RS256" in key_algorithms(rsa.generate_private_key(65537, 2048).public_key())
    assert key_algorithms(rsa.generate_private_key(65537, 1024).public_key()) == set()
    assert key_algorithms(ed25519.Ed25519PrivateKey.generate().public_key()) == {"EdDSA"}
    assert key_algorithms("not a key") == set()


def test_jwk_members_become_keys_named_by_kid_and_thumbprint() -> None:
    """A JWKS member is usable under its kid and its thumbprint, for its own alg only."""
    issuer = LegacyIssuer("ES256", kid="k1")
    key = from_jwk(issuer.jwk(), ALL)
    assert key is not None
    assert key.kids == {"k1", thumbprint(key.key)}
    assert key.algorithms == {"ES256"}


def test_unusable_jwk_members_are_skipped() -> None:
    """Shared secrets, encryption keys, disallowed algorithms and malformed members yield no key."""
    ec_jwk = LegacyIssuer("ES256", kid="k1").jwk()
    assert from_jwk({"kty": "oct", "k": "c2VjcmV0"}, ALL) is None
    assert from_jwk({**ec_jwk, "use": "enc"}, ALL) is None
    assert from_jwk(ec_jwk, {"RS256"}) is None
    assert from_jwk({**ec_jwk, "alg": "ES384"}, ALL) is None
    assert from_jwk({**ec_jwk, "x": "AA"}, ALL) is None
    assert from_jwk(["not", "a", "jwk"], ALL) is None
