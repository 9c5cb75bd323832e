"""Test helpers shipped with the gateway: a legacy token issuer, a settable clock, an in-memory append.

For tests, `ccbridge demo` and the benchmark; never used by the server itself. Keys are generated
in memory; `LegacyIssuer.write_pem` puts the public half where `ingest.jwt.public_key_files` can
read it, and `jwk()` gives the JWKS member.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from ccbridge.core.event import Event
from ccbridge.core.ports import AppendResult

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}


class FakeClock:
    """A wall clock (epoch seconds) that moves only when told to."""

    def __init__(self, now: float = 1_714_564_800.0) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class LegacyIssuer:
    """A legacy system's signing key and token minting; `alg` ES256/ES384/ES512 or RS256/PS256..."""

    def __init__(self, alg: str = "ES256", kid: str | None = None, issuer: str = "legacy-erp") -> None:
        self.alg = alg
        self.kid = kid
        self.issuer = issuer
        curve = _CURVES.get(alg)
        self.private_key: PrivateKey = (
            ec.generate_private_key(curve) if curve else rsa.generate_private_key(65537, 2048)
        )

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def write_pem(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.public_pem())
        return path

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWKS member (with `kid`, `alg` and `use` when known)."""
        public = self.private_key.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            member: dict[str, Any] = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            member = RSAAlgorithm.to_jwk(public, as_dict=True)
        member.update({"use": "sig", "alg": self.alg})
        if self.kid is not None:
            member["kid"] = self.kid
        return member

    def claims(self, now: float | None = None, **overrides: Any) -> dict[str, Any]:
        """Valid default claims (iss, aud ccbridge, sub erp, iat, exp in 5 minutes); None drops a claim."""
        at = int(time.time() if now is None else now)
        claims = {"iss": self.issuer, "aud": "ccbridge", "sub": "erp", "iat": at, "exp": at + 300}
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(
        self,
        now: float | None = None,
        *,
        headers: dict[str, Any] | None = None,
        alg: str | None = None,
        **claims: Any,
    ) -> str:
        """A signed token; `claims` override (None removes) the defaults of `claims()`."""
        extra = {"kid": self.kid} if self.kid is not None else {}
        return jwt.encode(
            self.claims(now, **claims),
            self.private_key,
            algorithm=alg or self.alg,
            headers=extra | (headers or {}),
        )

    def bearer(self, now: float | None = None, **claims: Any) -> dict[str, str]:
        """`{"Authorization": "Bearer <token>"}` for a token of `token(now, **claims)`."""
        return {"Authorization": f"Bearer {self.token(now, **claims)}"}


class MemoryAppend:
    """An `append` that keeps events in memory and de-duplicates by idempotency key like a Store."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._by_key: dict[str, Event] = {}

    async def __call__(self, event: Event) -> AppendResult:
        key = event.idempotency_key
        if key is not None and key in self._by_key:
            return AppendResult(self._by_key[key], created=False)
        if key is not None:
            self._by_key[key] = event
        self.events.append(event)
        return AppendResult(event, created=True)


def orders_source(schema: str | None = "schemas/legacy-order.json") -> dict[str, Any]:
    """The `ingest.sources` entry of seed 003's legacy orders example, for tests, the
    demo and the benchmark; `schema` is the path of the order schema, or None for no schema."""
    source: dict[str, Any] = {
        "name": "orders",
        "match": {"event_type": ["order_created", "order_cancelled"]},
        "business_key": "transaction_id",
        "mapping": {
            "event_type": "custom.legacy.orders.{event_type}",
            "event_time": {"field": "timestamp"},
            "source": {"system": "legacy-ordering-platform", "version": "2.1.0"},
            "data": {
                "transaction_id": "transaction_id",
                "amount": "amount",
                "currency": "currency",
                "original_type": "event_type",
                "channel": {"const": "erp"},
                "region": {"field": "region", "default": "unknown"},
            },
        },
    }
    if schema is not None:
        source["schema"] = schema
    return source
