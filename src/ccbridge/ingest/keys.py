"""Public verification keys: loaded once (PEM files at compile time, JWKs when fetched), never printed.

A key knows which JWS algorithms it may verify: those its type allows (EC curve -> ES256/384/512,
RSA >= 2048 bits -> RS*/PS*, Ed25519/Ed448 -> EdDSA), narrowed by the configured allow-list and by
the JWK's own `alg` when it has one. A key with no algorithm left is unusable.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from ccbridge.errors import ConfigError

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
_RSA_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_CURVE_ALG = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One usable public key; `kids` are the names a token's `kid` may use for it."""

    kids: frozenset[str]
    key: PublicKey
    algorithms: frozenset[str]
    describe: str


def key_algorithms(key: object) -> frozenset[str]:
    """The algorithms a key's type can verify; empty for an unsupported or too-small key."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        alg = _CURVE_ALG.get(key.curve.name)
        return frozenset({alg}) if alg else frozenset()
    if isinstance(key, rsa.RSAPublicKey):
        return _RSA_ALGS if key.key_size >= _MIN_RSA_BITS else frozenset()
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return frozenset({"EdDSA"})
    return frozenset()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(key: PublicKey) -> str:
    """The RFC 7638 SHA-256 JWK thumbprint, base64url: a kid every party can compute."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(key, as_dict=True)
        members: tuple[str, ...] = ("crv", "kty", "x", "y")
    elif isinstance(key, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
        members = ("e", "kty", "n")
    else:
        jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
        members = ("crv", "kty", "x")
    canonical = orjson.dumps({m: jwk[m] for m in members}, option=orjson.OPT_SORT_KEYS)
    return _b64(hashlib.sha256(canonical).digest())


def _describe(key: PublicKey) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    return type(key).__name__.removesuffix("PublicKey")


def _parse_pem(data: bytes, where: str) -> PublicKey:
    if b"PRIVATE KEY" in data:
        raise ConfigError(where, "the file holds a private key; configure the public key only")
    try:
        if b"BEGIN CERTIFICATE" in data:
            loaded: object = x509.load_pem_x509_certificate(data).public_key()
        else:
            loaded = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigError(where, "not a PEM public key or certificate") from exc
    if not isinstance(loaded, PublicKey):
        raise ConfigError(where, f"unsupported key type {type(loaded).__name__}")
    return loaded


def load_pem_file(path: Path, kid: str | None, allowed: Collection[str], where: str) -> VerificationKey:
    """Read one PEM key file; ConfigError (naming `where`) if unreadable or fitting no allowed algorithm."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(where, f"cannot read key file {path}: {exc.strerror}") from exc
    return _usable(_parse_pem(data, where), kid or path.stem, allowed, where, path.name)


def load_pem_text(data: bytes, kid: str | None, allowed: Collection[str], where: str) -> VerificationKey:
    """One PEM key given inline in the config (`public_key_pem`); named by `kid` and its thumbprint."""
    return _usable(_parse_pem(data, where), kid, allowed, where, "the config")


def _usable(
    key: PublicKey, kid: str | None, allowed: Collection[str], where: str, origin: str
) -> VerificationKey:
    algorithms = key_algorithms(key) & frozenset(allowed)
    if not algorithms:
        raise ConfigError(
            where, f"{_describe(key)} key fits none of the algorithms {', '.join(sorted(allowed))}"
        )
    names = frozenset({thumbprint(key)} | ({kid} if kid else set()))
    return VerificationKey(names, key, algorithms, f"{_describe(key)} from {origin}")


def _jwk_public_key(jwk: Mapping[str, Any]) -> PublicKey | None:
    kty = jwk.get("kty")
    key: object
    if kty == "EC":
        key = ECAlgorithm.from_jwk(dict(jwk))
    elif kty == "RSA":
        key = RSAAlgorithm.from_jwk(dict(jwk))
    elif kty == "OKP":
        key = OKPAlgorithm.from_jwk(dict(jwk))
    else:  # "oct" (a shared secret) and unknown types are never verification keys
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        key = key.public_key()
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        key = key.public_key()
    return key if isinstance(key, PublicKey) else None


def from_jwk(jwk: Any, allowed: Collection[str]) -> VerificationKey | None:
    """A JWKS member as a key, or None when it is not a usable signature-verification key."""
    if not isinstance(jwk, Mapping) or jwk.get("use", "sig") != "sig":
        return None
    try:
        key = _jwk_public_key(jwk)
    except Exception:  # PyJWT raises assorted errors for malformed JWKs; any of them means "skip"
        return None
    if key is None:
        return None
    algorithms = key_algorithms(key) & frozenset(allowed)
    if "alg" in jwk:
        algorithms &= {jwk["alg"]}
    if not algorithms:
        return None
    kid = jwk.get("kid")
    names = {thumbprint(key)} | ({kid} if isinstance(kid, str) and kid else set())
    return VerificationKey(frozenset(names), key, algorithms, f"{_describe(key)} from JWKS")
