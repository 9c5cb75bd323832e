"""The `/ingest` logic: JWT -> rate limit -> JSON -> source -> JSON Schema -> mapping -> append.

HTTP-free: the route hands over the headers and body and turns the result or the error into a
response (`api.problems` chooses the statuses). Errors raised, all of `ccbridge.errors`: AuthError
(token), RateLimited (with `retry_after`), Unavailable (the rate limit could not be checked: the
request is refused, fail closed), TooLarge, Malformed (not JSON as `core.jsonbody` reads it, or an
unusable Idempotency-Key / X-Correlation-Id header), InputError (not an object, no source matches,
schema errors, mapping errors), KeySetUnavailable (the JWKS never loaded); whatever `append` raises
passes through unchanged. The media type is the route's to check (it is HTTP).

Rate limit (`ingest.rate_limit`): one budget per JWT `sub` (key `ingest:<sub>`, `ingest:` without
one), kept in the store (`RateLimits`), so every process and replica on the store shares it.

Idempotency key: the `Idempotency-Key` (or `X-Idempotency-Key`) header if sent, else
`uuid5(NAMESPACE_URL, f"{event_type}:{business key value}")`, or, for a source without a
business key, of `f"{event_type}:{the payload as sorted-key JSON}"`. Deterministic, so a legacy
system's retry of the same business event is stored once; a repeat answers 202 with the same key
and the id of the event stored first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import structlog

from ccbridge.core.accept import accept
from ccbridge.core.envelopes import Envelope
from ccbridge.core.event import Event
from ccbridge.core.ids import uuid4_str
from ccbridge.core.jsonbody import parse_json_body
from ccbridge.core.ports import AppendResult, Clock, RateLimits
from ccbridge.core.times import iso
from ccbridge.errors import BridgeError, FieldError, InputError, Malformed, RateLimited, TooLarge, Unavailable
from ccbridge.ingest.compile import CompiledIngest, CompiledSource
from ccbridge.ingest.config import RateLimitConfig
from ccbridge.ingest.jwks import JwksCache
from ccbridge.ingest.jwt_verify import JwtVerifier
from ccbridge.ingest.mapping import MISSING

log = structlog.get_logger("ccbridge.ingest")
Append = Callable[[Event], Awaitable[AppendResult]]
LIMIT_UNAVAILABLE_RETRY_AFTER = 5.0  # seconds: when the store fails the check in a way it does not map
_TOKEN_HEADER = re.compile(r"^[\x21-\x7e]{1,255}$", re.ASCII)
_TRACEPARENT = re.compile(r"^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What to answer: `status_code` 202 and `body`; `duplicate` when the key was stored before."""

    status_code: int
    body: dict[str, str]
    duplicate: bool
    event: Event


class IngestGateway:
    """One gateway per server; `handle` is safe to call from many tasks of one event loop.

    `rate_limits` (the store) is required when `config.rate_limit` is set (ValueError otherwise)."""

    def __init__(
        self,
        config: CompiledIngest,
        append: Append,
        clock: Clock,
        *,
        rate_limits: RateLimits | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if config.rate_limit is not None and rate_limits is None:
            raise ValueError("ingest.rate_limit needs the store's RateLimits")
        self._config = config
        self._append = append
        self._clock = clock
        self._jwks = None
        if config.jwks_url is not None:
            self._jwks = JwksCache(
                config.jwks_url,
                config.jwt.algorithms,
                clock,
                min_interval=config.jwks_min_refresh_seconds,
                max_age=config.jwks_cache_seconds,
                timeout=config.jwks_timeout_seconds,
                client=http_client,
            )
        self._verifier = JwtVerifier(config.jwt, clock, self._jwks)
        limit = config.rate_limit
        self._limit = None if limit is None or rate_limits is None else (rate_limits, limit)

    async def start(self) -> None:
        """Fetch the JWKS ahead of the first request (best effort: a failure is retried on demand)."""
        if self._jwks is not None:
            await self._jwks.refresh()

    async def aclose(self) -> None:
        if self._jwks is not None:
            await self._jwks.aclose()

    async def handle(self, headers: Mapping[str, str], body: bytes) -> IngestResult:
        """Verify, validate, map and append one legacy event; raises the errors listed above."""
        lowered = {name.lower(): value for name, value in headers.items()}
        claims = await self._verifier.verify(lowered.get("authorization"))
        subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
        if self._limit is not None:
            await self._take_token(*self._limit, subject or "")
        if len(body) > self._config.max_body_bytes:
            raise TooLarge(FieldError("body", f"over {self._config.max_body_bytes} bytes"))
        idempotency_key = _token_header(lowered, "Idempotency-Key") or _token_header(
            lowered, "X-Idempotency-Key"
        )
        correlation_id = _token_header(lowered, "X-Correlation-Id") or uuid4_str()
        payload = _parse(body)
        source = self._choose(payload)
        metadata = _metadata(source.name, subject, lowered.get("traceparent"))
        event = self._build(source, payload, idempotency_key, correlation_id, metadata)
        result = await self._append(event)
        stored = result.event
        answer = {"status": "accepted", "idempotency_key": event.idempotency_key or "", "event_id": stored.id}
        return IngestResult(202, answer, duplicate=not result.created, event=stored)

    async def _take_token(self, limits: RateLimits, limit: RateLimitConfig, subject: str) -> None:
        """RateLimited when `subject` is over its budget; Unavailable when the store cannot say (a
        failure the store does not map itself becomes one too: never admitted unchecked, never a 500)."""
        try:
            wait = await limits.take_rate_token(
                f"ingest:{subject}", limit.per_subject_per_second, limit.capacity()
            )
        except BridgeError:
            raise
        except Exception as exc:
            log.error("ingest_rate_limit_failed", error=type(exc).__name__)
            raise Unavailable(
                "the rate limit cannot be checked", retry_after=LIMIT_UNAVAILABLE_RETRY_AFTER
            ) from exc
        if wait > 0:
            raise RateLimited(wait)

    def _choose(self, payload: dict[str, Any]) -> CompiledSource:
        for source in self._config.sources:
            if source.matcher is None or source.matcher.matches(payload):
                return source
        raise InputError(FieldError("body", "no source matches this payload"), title="no source matches")

    def _build(
        self,
        source: CompiledSource,
        payload: dict[str, Any],
        key: str | None,
        correlation_id: str,
        metadata: dict[str, str],
    ) -> Event:
        if source.schema is not None:
            errors = source.schema.errors(payload)
            if errors:
                raise InputError(errors, title=f"payload does not match the schema of source {source.name}")
        errors = []
        business_key = _business_key(source, payload, errors)
        received = self._clock.now()
        try:
            mapped = source.mapping.apply(payload, iso(received) if source.on_bad_time == "now" else None)
        except InputError as exc:
            raise InputError([*exc.errors, *errors], title=exc.title) from None
        if errors:
            raise InputError(errors, title="payload cannot be mapped")
        if key is None:
            name = business_key if business_key is not None else _canonical(payload)
            key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{mapped.event_type}:{name}"))
        envelope = Envelope(mapped.event_type, mapped.event_time, mapped.source, mapped.data, "genesys")
        return accept(
            envelope,
            received_at=received,
            correlation_id=correlation_id,
            idempotency_key=key,
            metadata={**metadata, **mapped.time_fallback},
        )


def _token_header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name.lower())
    if value is None:
        return None
    if not _TOKEN_HEADER.match(value):
        raise Malformed(FieldError(name, "must be 1-255 visible ASCII characters"), title=f"bad {name}")
    return value


def _parse(body: bytes) -> dict[str, Any]:
    payload = parse_json_body(body)
    if not isinstance(payload, dict):
        raise InputError(FieldError("body", "must be a JSON object"), title="body is not an object")
    return payload


def _canonical(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()


def _business_key(source: CompiledSource, payload: dict[str, Any], errors: list[FieldError]) -> str | None:
    if source.business_key is None:
        return None
    value = source.business_key.get(payload)
    if value is MISSING or value is None or value == "":
        errors.append(FieldError(source.business_key.text, "required: the business key"))
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append(FieldError(source.business_key.text, "the business key must be a string or number"))
        return None
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _metadata(source: str, subject: str | None, traceparent: str | None) -> dict[str, str]:
    """`ingestSource`, `subject` (JWT sub) and a well-formed W3C `traceparent` (others are dropped)."""
    metadata = {"ingestSource": source}
    if subject:
        metadata["subject"] = subject
    if traceparent is not None and _TRACEPARENT.match(traceparent.strip()):
        metadata["traceparent"] = traceparent.strip()
    return metadata
