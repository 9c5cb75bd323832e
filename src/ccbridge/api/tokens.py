"""OAuth2 client-credentials tokens: signed JWTs, so they survive restarts and work on every
replica that shares the store (the signing key lives in the store, created once).

Verification is on every request's hot path, so verified tokens are cached until they expire.
"""

from __future__ import annotations

import hmac
import math
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jwt

from ccbridge.config import AuthConfig, ClientConfig
from ccbridge.errors import AuthError, ScopeError

ISSUER = "ccbridge"
_CACHE_LIMIT = 10_000


def canonical_scope(scope: str) -> str:
    """Seed 002 spells `eventbridge:subscription:read`; both spellings name the same right."""
    return scope.replace("eventbridge:subscription:", "eventbridge:subscriptions:")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and what they may do (canonical scope names)."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float

    def require(self, scope: str) -> None:
        if canonical_scope(scope) not in self.scopes:
            raise ScopeError(f"the token lacks the scope {scope}")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


class TokenService:
    """Authenticates clients and issues/verifies bearer tokens."""

    def __init__(self, config: AuthConfig, key: bytes, now: Callable[[], float] = time.time) -> None:
        self._clients = {c.id: c for c in config.clients}
        self._ttl = config.token_ttl_seconds
        self._key = key
        self._now = now
        self._cache: dict[str, Principal] = {}

    def authenticate(self, client_id: str | None, client_secret: str | None) -> ClientConfig:
        client = self._clients.get(client_id or "")
        expected = client.secret.get_secret_value().encode() if client else b"\0" * 32
        given = (client_secret or "").encode()
        # compare even for unknown clients, so timing does not reveal which ids exist
        if not hmac.compare_digest(expected, given) or client is None:
            raise AuthError("client authentication failed", code="invalid_client")
        return client

    def issue(self, client: ClientConfig, requested: Iterable[str] | None) -> IssuedToken:
        allowed = {canonical_scope(s) for s in client.scopes}
        asked = list(requested) if requested else list(client.scopes)
        refused = [s for s in asked if canonical_scope(s) not in allowed]
        if refused:
            raise AuthError(f"scope not allowed for this client: {' '.join(refused)}", code="invalid_scope")
        now = int(self._now())
        claims = {
            "iss": ISSUER,
            "sub": client.id,
            "iat": now,
            "exp": now + self._ttl,
            "scope": " ".join(sorted({canonical_scope(s) for s in asked})),
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._key, algorithm="HS256")
        return IssuedToken(token, self._ttl, " ".join(asked))

    def verify(self, authorization: str | None) -> Principal:
        if not authorization:
            raise AuthError("a bearer token is required", code="invalid_request")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header must be 'Bearer <token>'", code="invalid_request")
        token = token.strip()
        now = self._now()
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at > now:
                return cached
            del self._cache[token]
            raise AuthError("the token has expired")
        principal = self._decode(token, now)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[token] = principal
        return principal

    def _decode(self, token: str, now: float) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthError("the token is malformed or its signature is invalid") from exc
        expires_at = _expiry(claims["exp"])
        if expires_at <= now:
            raise AuthError("the token has expired")
        subject = claims["sub"]
        client = self._clients.get(subject) if isinstance(subject, str) else None
        if client is None:
            raise AuthError("the token's client no longer exists")
        granted = {canonical_scope(s) for s in str(claims.get("scope", "")).split()}
        # a scope removed from the client's config since issue is no longer honoured
        scopes = frozenset(granted & {canonical_scope(s) for s in client.scopes})
        return Principal(client.id, scopes, expires_at)


def _expiry(exp: object) -> float:
    """A token's `exp` as epoch seconds; AuthError unless it is a finite JSON number. PyJWT only checks
    that it is present (expiry is checked here), and a well-signed token is still input."""
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise AuthError("the token's exp is not a number")
    try:
        expires_at = float(exp)
    except OverflowError:
        raise AuthError("the token's exp is not a usable time") from None
    if not math.isfinite(expires_at):
        raise AuthError("the token's exp is not a usable time")
    return expires_at
