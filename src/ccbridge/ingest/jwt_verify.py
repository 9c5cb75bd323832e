"""Bearer-token verification for `/ingest`: compact JWS, PyJWT's algorithm objects, our claim checks.

Every rejection is an AuthError with a short, fixed reason: never the key, never the token, never
a stack trace. The header's `alg` is checked against the allow-list before any key is looked up,
so `none` and HMAC tokens (HS/RS confusion) never reach a key, and a key verifies only algorithms
its type fits (P-256 -> ES256 ...). Tokens with a `crit` header or `b64: false` are refused (we
implement no JWS extension). Only a JWKS that has never loaded makes verification impossible:
that is KeySetUnavailable (try again later), not an AuthError.

Signatures go straight to PyJWT's algorithm objects with the cached `cryptography` key objects:
PyJWT's `decode()` re-validates base64 character by character, which doubled the cost of ES256.
A token whose signature verified is remembered by its exact text (at most `token_cache_size`, oldest
dropped first, all forgotten when the JWKS key set changes), so a caller reusing its token pays the
signature check once; its claims, times included, are checked again on every request.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from jwt.algorithms import Algorithm, get_default_algorithms

from ccbridge.core.ports import Clock
from ccbridge.errors import Unavailable
from ccbridge.ingest.claims import ClaimsPolicy, check_claims, reject
from ccbridge.ingest.jwks import JwksCache
from ccbridge.ingest.keys import VerificationKey

_MAX_TOKEN_CHARS = 16_384
_COMPACT_JWS = re.compile(r"^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$", re.ASCII)


class KeySetUnavailable(Unavailable):
    """The JWKS host could not be reached and no key is known yet; `retry_after` says when to try again."""


@dataclass(frozen=True, slots=True)
class JwtSettings:
    """Compiled `ingest.jwt`: file keys already loaded, claims policy resolved."""

    algorithms: frozenset[str]
    file_keys: tuple[VerificationKey, ...]
    claims: ClaimsPolicy
    retry_after: float = 30.0
    token_cache_size: int = 4096


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; AuthError if absent or malformed."""
    if not authorization:
        raise reject("missing bearer token", code="invalid_request")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise reject("malformed Authorization header; expected 'Bearer <token>'", code="invalid_request")
    return token


def _b64(segment: str) -> bytes:
    if len(segment) % 4 == 1:
        raise binascii.Error("impossible base64 length")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = orjson.loads(_b64(segment))
    except (binascii.Error, ValueError) as exc:
        raise reject("malformed token") from exc
    if not isinstance(value, dict):
        raise reject("malformed token")
    return value


@dataclass(frozen=True, slots=True)
class _Token:
    header: dict[str, Any]
    payload_segment: str
    signing_input: bytes
    signature: bytes


def _split(token: str) -> _Token:
    match = _COMPACT_JWS.match(token) if len(token) <= _MAX_TOKEN_CHARS else None
    if match is None:
        raise reject("malformed token")
    header_segment, payload_segment, signature_segment = match.groups()
    header = _json_object(header_segment)
    if "crit" in header or header.get("b64", True) is not True:
        raise reject("unsupported token header (crit/b64)")
    try:
        signature = _b64(signature_segment)
    except binascii.Error as exc:
        raise reject("malformed token") from exc
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    return _Token(header, payload_segment, signing_input, signature)


class JwtVerifier:
    """Verifies bearer tokens against file keys and, if configured, a JWKS. Safe for concurrent use."""

    def __init__(self, settings: JwtSettings, clock: Clock, jwks: JwksCache | None = None) -> None:
        self._settings = settings
        self._clock = clock
        self._jwks = jwks
        self._file_by_kid: dict[str, list[VerificationKey]] = {}
        for key in settings.file_keys:
            for kid in key.kids:
                self._file_by_kid.setdefault(kid, []).append(key)
        known = get_default_algorithms()
        self._algorithms: dict[str, Algorithm] = {name: known[name] for name in settings.algorithms}
        self._verified: dict[str, tuple[dict[str, Any], int]] = {}  # token -> (claims, key generation)

    async def verify(self, authorization: str | None) -> dict[str, Any]:
        """The verified claims (a fresh dict) of the bearer token in an Authorization header value."""
        text = bearer_token(authorization)
        generation = self._jwks.generation if self._jwks is not None else 0
        cached = self._verified.get(text)
        hit = cached is not None and cached[1] == generation
        payload = cached[0] if cached is not None and hit else await self._verify_signature(text)
        check_claims(payload, self._settings.claims, self._clock.now())
        if not hit:
            self._remember(text, payload, generation)
        return dict(payload)

    def _remember(self, text: str, payload: dict[str, Any], generation: int) -> None:
        size = self._settings.token_cache_size
        if size <= 0:
            return
        if text not in self._verified and len(self._verified) >= size:
            del self._verified[next(iter(self._verified))]
        self._verified[text] = (payload, generation)

    async def _verify_signature(self, text: str) -> dict[str, Any]:
        token = _split(text)
        alg = self._check_alg(token.header.get("alg"))
        keys = await self._candidates(token.header.get("kid"), alg)
        algorithm = self._algorithms[alg]
        if not any(algorithm.verify(token.signing_input, key.key, token.signature) for key in keys):
            raise reject("bad signature")
        return _json_object(token.payload_segment)

    def _check_alg(self, alg: Any) -> str:
        if not isinstance(alg, str) or not alg:
            raise reject("malformed token: no alg")
        if alg.lower() == "none":
            raise reject("unsigned tokens (alg none) are not accepted")
        if alg.upper().startswith("HS"):
            raise reject("HMAC-signed tokens are not accepted")
        if alg not in self._algorithms:
            raise reject("token algorithm is not allowed")
        return alg

    async def _candidates(self, kid: Any, alg: str) -> list[VerificationKey]:
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise reject("malformed token: bad kid")
        if kid is None:
            found: Iterable[VerificationKey] = self._settings.file_keys
            if self._jwks is not None:
                found = [*found, *await self._jwks.keys()]
        else:
            found = self._file_by_kid.get(kid, [])
            if not found and self._jwks is not None:
                found = await self._jwks.lookup(kid)
        found = list(found)
        if not found and self._jwks is not None and not self._jwks.loaded:
            raise KeySetUnavailable("signing keys unavailable", retry_after=self._settings.retry_after)
        if not found:
            raise reject("kid matches no key" if kid is not None else "no key configured")
        usable = [key for key in found if alg in key.algorithms]
        if not usable:
            raise reject("token algorithm does not fit the key")
        return usable
