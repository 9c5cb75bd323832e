"""Webhook signatures: sign outbound deliveries, verify inbound platform webhooks. Pure, no I/O.

Three schemes, all HMAC-SHA256:

* **standard** — Standard Webhooks (standardwebhooks.com): headers `webhook-id`, `webhook-timestamp`
  (integer epoch seconds) and `webhook-signature: v1,<base64>` over `{id}.{timestamp}.{body}`, keyed with
  the base64-decoded part of a `whsec_` secret. The header may carry several space-separated signatures
  (key rotation); one match is enough. A secret without the `whsec_` prefix is used as its UTF-8 bytes
  (the spec only defines `whsec_` secrets; this keeps arbitrary legacy secrets usable).
* **genesys** — `X-Genesys-Event-Signature: <hex>` over the raw body, keyed with the UTF-8 bytes of the
  WHOLE secret string (a `whsec_` secret included, prefix and all), exactly as seed 002's receiver checks.
* **hub** — `X-Hub-Signature-256: sha256=<base64>` (Genesys Open Messaging) over the raw body, keyed like
  genesys. Verification also accepts 64 hex digits after `sha256=` (GitHub's form of the same header).

Every comparison is constant-time (`hmac.compare_digest`). Error messages never contain a secret or an
expected signature. Timestamps are epoch seconds (float accepted, formatted as an integer).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Mapping, Sequence
from typing import Literal

from ccbridge.errors import AuthError

PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
DEFAULT_TOLERANCE = 300.0

GENESYS_HEADER = "X-Genesys-Event-Signature"
HUB_HEADER = "X-Hub-Signature-256"

Scheme = Literal["genesys", "hub", "standard"]


def _b64decode(text: str) -> bytes:
    """Strict standard base64, tolerating missing `=` padding; raises ValueError."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc


def generate_secret(nbytes: int = 32) -> str:
    """A new `whsec_` secret of `nbytes` random bytes (24..64)."""
    if not MIN_SECRET_BYTES <= nbytes <= MAX_SECRET_BYTES:
        raise ValueError(f"nbytes must be {MIN_SECRET_BYTES}..{MAX_SECRET_BYTES}")
    return PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode("ascii")


def is_valid_secret(secret: str) -> bool:
    """True for `whsec_` + base64 of 24..64 bytes: the only form `generate_secret` makes."""
    if not secret.startswith(PREFIX):
        return False
    try:
        key = _b64decode(secret[len(PREFIX) :])
    except ValueError:
        return False
    return MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES


def standard_key(secret: str) -> bytes:
    """The Standard Webhooks HMAC key of a secret; ValueError for a `whsec_` secret that is not base64."""
    if secret.startswith(PREFIX):
        return _b64decode(secret[len(PREFIX) :])
    return secret.encode("utf-8")


def _standard_digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def _body_digest(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()


def _body_matches(given: bytes, body: bytes, secrets: Sequence[str]) -> bool:
    return any(hmac.compare_digest(given, _body_digest(s, body)) for s in secrets if s)


def sign_standard(secret: str, msg_id: str, timestamp: float, body: bytes) -> str:
    """The `webhook-signature` value (`v1,<base64>`) for one message."""
    digest = _standard_digest(standard_key(secret), msg_id, str(int(timestamp)), body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_genesys(secret: str, body: bytes) -> str:
    """The `X-Genesys-Event-Signature` value: lowercase hex."""
    return _body_digest(secret, body).hex()


def sign_hub(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value: `sha256=<base64>`."""
    return "sha256=" + base64.b64encode(_body_digest(secret, body)).decode("ascii")


def signed_headers(
    secret: str, msg_id: str, timestamp: float, body: bytes, previous: Sequence[str] = ()
) -> dict[str, str]:
    """The signature headers of one outbound delivery (Standard Webhooks and Genesys hex).

    During a rotation's grace period `previous` holds the old secret(s): `webhook-signature` then
    carries one space-separated `v1,` signature per secret, the current one first, so a consumer
    verifying with either key accepts it. The Genesys hex header holds one signature: the current
    secret's."""
    ts = str(int(timestamp))
    standard = " ".join(sign_standard(s, msg_id, int(ts), body) for s in (secret, *previous) if s)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": standard,
        GENESYS_HEADER: sign_genesys(secret, body),
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    value = value.strip() if value is not None else None
    return value or None


def verify_genesys(value: str, body: bytes, secrets: Sequence[str]) -> bool:
    """True when the hex `value` is the body's HMAC under one of the non-empty `secrets` (any hex case)."""
    try:
        given = bytes.fromhex(value)
    except ValueError:
        return False
    return _body_matches(given, body, secrets)


def verify_hub(value: str, body: bytes, secrets: Sequence[str]) -> bool:
    """True when `sha256=<base64 or hex>` is the body's HMAC under one of `secrets`."""
    algo, _, encoded = value.partition("=")
    if algo.lower() != "sha256":
        return False
    try:
        given = bytes.fromhex(encoded) if len(encoded) == 64 else _b64decode(encoded)
    except ValueError:
        return False
    return _body_matches(given, body, secrets)


def verify_standard(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> None:
    """Checks Standard Webhooks headers; raises AuthError with a short reason, returns None when valid.

    The timestamp must be within `tolerance` seconds of `now` in either direction (replay and clock-skew
    bound). A `whsec_` secret that is not valid base64 is skipped.
    """
    msg_id, ts, sig = (_header(headers, n) for n in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and ts and sig):
        raise AuthError("missing signature")
    if not (ts.isascii() and ts.isdigit() and len(ts) <= 12):
        raise AuthError("invalid timestamp")
    if abs(now - int(ts)) > tolerance:
        raise AuthError("timestamp outside tolerance")
    given: list[bytes] = []
    for token in sig.split():
        version, _, encoded = token.partition(",")
        if version == "v1":
            try:
                given.append(_b64decode(encoded))
            except ValueError:
                continue
    for secret in filter(None, secrets):
        try:
            expected = _standard_digest(standard_key(secret), msg_id, ts, body)
        except ValueError:
            continue
        if any(hmac.compare_digest(expected, g) for g in given):
            return
    raise AuthError("signature mismatch")


def verify_inbound(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Scheme:
    """Verifies an inbound webhook against any of `secrets` (rotation); returns the scheme that passed.

    Header names are matched case-insensitively; empty secrets are ignored (they would sign for anyone).
    The strongest scheme present decides, and a weaker one is never a fallback: `webhook-signature`
    (timestamped) first, then `X-Hub-Signature-256`, then `X-Genesys-Event-Signature` — so a replayed
    request cannot dodge the timestamp check by also carrying an untimestamped signature. Raises
    AuthError("missing signature" | "signature mismatch" | "timestamp outside tolerance" |
    "invalid timestamp").
    """
    if _header(headers, "webhook-signature") is not None:
        verify_standard(headers, body, secrets, now, tolerance)
        return "standard"
    hub = _header(headers, HUB_HEADER)
    if hub is not None:
        if verify_hub(hub, body, secrets):
            return "hub"
        raise AuthError("signature mismatch")
    genesys = _header(headers, GENESYS_HEADER)
    if genesys is not None:
        if verify_genesys(genesys, body, secrets):
            return "genesys"
        raise AuthError("signature mismatch")
    raise AuthError("missing signature")
