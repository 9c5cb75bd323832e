"""RFC 9457 problem+json answers: the one place where error types become HTTP statuses."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ccbridge.errors import (
    AuthError,
    BridgeError,
    ConflictError,
    InputError,
    NotFoundError,
    Retryable,
    ScopeError,
)

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM)


def from_error(exc: BridgeError) -> Response:
    """Map a ccbridge error to its answer; messages never include secrets (errors never hold them)."""
    if isinstance(exc, ScopeError):
        return _auth(403, "insufficient scope", exc, 'Bearer error="insufficient_scope"')
    if isinstance(exc, AuthError):
        return _auth(401, "unauthorized", exc, f'Bearer error="{exc.code}"')
    if isinstance(exc, InputError):
        return problem(exc.status, exc.title, _detail(exc), errors=[e.as_dict() for e in exc.errors] or None)
    if isinstance(exc, NotFoundError):
        return problem(404, "not found", str(exc))
    if isinstance(exc, ConflictError):
        return problem(409, "conflict", str(exc), existingId=exc.existing_id)
    if isinstance(exc, Retryable):
        status = int(getattr(exc, "status", 429))
        response = problem(status, "too many requests" if status == 429 else "unavailable", str(exc))
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response
    return problem(500, "internal error", "the request could not be completed")


def _detail(exc: InputError) -> str:
    return "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.title


def _auth(status: int, title: str, exc: AuthError, challenge: str) -> Response:
    response = problem(status, title, str(exc))
    response.headers["WWW-Authenticate"] = challenge
    return response


async def handle_bridge_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BridgeError)
    return from_error(exc)
