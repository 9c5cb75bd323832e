"""`Idempotency-Key` for API writes: the same key and body within 24 h gets the stored answer
again and creates nothing; the same key with another body is refused (Svix and Stripe do the same).

A write handler opens with `begin`, the one prelude: it reads the key, scopes it to the caller and
the addressed resource, digests the body and looks for a stored answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ccbridge.api.http import json_response
from ccbridge.core.ports import IdempotencyRecords, IdempotentRecord
from ccbridge.errors import FieldError, InputError, Malformed

MAX_KEY_LENGTH = 255


def body_hash(body: Any) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


KEY_HEADERS = ("Idempotency-Key", "X-Idempotency-Key")


def read_key(headers: Mapping[str, str]) -> str | None:
    """`Idempotency-Key`, else `X-Idempotency-Key`, else None. A header that is sent must hold a key:
    Malformed when it is empty, blank or longer than 255 (an empty key is not "no key")."""
    for name in KEY_HEADERS:
        key = headers.get(name.lower())
        if key is not None:
            if not key.strip() or len(key) > MAX_KEY_LENGTH:
                raise Malformed(FieldError(name, f"must be 1 to {MAX_KEY_LENGTH} characters"))
            return key
    return None


@dataclass(frozen=True, slots=True)
class IdempotentWrite:
    """One write's key (None without one), its scope (caller, method, path) and its body's digest.

    `replayed` is the stored answer when the key was used before with the same body.
    """

    store: IdempotencyRecords
    scope: str
    key: str | None
    digest: str
    replayed: Response | None = None

    async def replay(self) -> Response | None:
        """The stored answer for a repeated key, or None when the key is new (or absent)."""
        if self.key is None:
            return None
        record = await self.store.get_idempotent(self.scope, self.key)
        if record is None:
            return None
        if record.body_hash != self.digest:
            raise InputError(
                FieldError("Idempotency-Key", "was already used with a different request body"),
                title="idempotency key reused",
            )
        return json_response(record.response, record.status, headers={"Idempotent-Replayed": "true"})

    def record(self, status: int, response: dict[str, Any], now: float) -> IdempotentRecord | None:
        """What the store keeps with the write, in its transaction (None without a key)."""
        if self.key is None:
            return None
        return IdempotentRecord(self.scope, self.key, self.digest, status, response, now)


async def begin(store: IdempotencyRecords, request: Request, client_id: str, body: Any) -> IdempotentWrite:
    """The prelude of an idempotent write of `body` to `request`'s resource by `client_id`."""
    scope = f"{client_id}:{request.method}:{request.url.path}"
    write = IdempotentWrite(store, scope, read_key(request.headers), body_hash(body))
    replayed = await write.replay()
    return write if replayed is None else replace(write, replayed=replayed)
