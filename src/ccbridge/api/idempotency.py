"""`Idempotency-Key` for API writes: the same key and body within 24 h gets the stored answer
again and creates nothing; the same key with another body is a 422 (Svix and Stripe do the same)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.responses import Response

from ccbridge.api.http import json_response
from ccbridge.core.ports import IdempotencyRecords, IdempotentRecord
from ccbridge.errors import FieldError, InputError

MAX_KEY_LENGTH = 255


def body_hash(body: Any) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def read_key(headers: Any) -> str | None:
    key: str | None = headers.get("idempotency-key") or headers.get("x-idempotency-key")
    if key is not None and (not key.strip() or len(key) > MAX_KEY_LENGTH):
        raise InputError(FieldError("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} characters"))
    return key


async def replay(store: IdempotencyRecords, scope: str, key: str | None, digest: str) -> Response | None:
    """The stored answer for a repeated key, or None when the key is new."""
    if key is None:
        return None
    record = await store.get_idempotent(scope, key)
    if record is None:
        return None
    if record.body_hash != digest:
        raise InputError(
            FieldError("Idempotency-Key", "was already used with a different request body"),
            title="idempotency key reused",
        )
    return json_response(record.response, record.status, headers={"Idempotent-Replayed": "true"})


def record(
    scope: str, key: str | None, digest: str, status: int, response: dict[str, Any], now: float
) -> IdempotentRecord | None:
    return None if key is None else IdempotentRecord(scope, key, digest, status, response, now)
