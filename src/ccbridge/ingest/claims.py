"""JWT claim checks (RFC 7519 §4.1) against the configured policy and the injected clock.

Run only after the signature has verified. Every failure is an AuthError with a fixed, short
reason. Time claims must be JSON numbers; `leeway` seconds of clock skew are tolerated both ways.
When no audience is configured a token that carries `aud` is refused, as RFC 7519 §4.1.3 demands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccbridge.errors import AuthError


@dataclass(frozen=True, slots=True)
class ClaimsPolicy:
    """What a verified token's claims must satisfy."""

    issuer: tuple[str, ...] | None
    audience: tuple[str, ...] | None
    leeway: float
    required: tuple[str, ...]


def reject(reason: str, code: str = "invalid_token") -> AuthError:
    return AuthError(reason, code=code)


def _number(payload: dict[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise reject(f"malformed {name} claim")
    return float(value)


def _check_times(payload: dict[str, Any], now: float, leeway: float) -> None:
    exp = _number(payload, "exp")
    if exp is not None and now >= exp + leeway:
        raise reject("token expired")
    nbf = _number(payload, "nbf")
    if nbf is not None and nbf > now + leeway:
        raise reject("token not yet valid")
    iat = _number(payload, "iat")
    if iat is not None and iat > now + leeway:
        raise reject("token issued in the future")


def _check_audience(payload: dict[str, Any], audience: tuple[str, ...] | None) -> None:
    claim = payload.get("aud")
    if audience is None:
        if claim:
            raise reject("wrong audience")
        return
    if not claim:
        raise reject("missing required claim aud")
    claimed = [claim] if isinstance(claim, str) else claim
    if not isinstance(claimed, list) or not any(isinstance(a, str) and a in audience for a in claimed):
        raise reject("wrong audience")


def check_claims(payload: dict[str, Any], policy: ClaimsPolicy, now: float) -> None:
    """AuthError unless required claims are present, iss/aud match, sub is a string, times hold."""
    for claim in policy.required:
        if payload.get(claim) is None:
            raise reject(f"missing required claim {claim}")
    if policy.issuer is not None:
        if "iss" not in payload:
            raise reject("missing required claim iss")
        if not isinstance(payload["iss"], str) or payload["iss"] not in policy.issuer:
            raise reject("wrong issuer")
    _check_audience(payload, policy.audience)
    if "sub" in payload and not isinstance(payload["sub"], str):
        raise reject("malformed sub claim")
    _check_times(payload, now, policy.leeway)
