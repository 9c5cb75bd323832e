"""RFC 9457 problem+json answers: the one place where the error tree becomes HTTP statuses.

`ANSWERS` maps each class of `ccbridge.errors` to its status and title; the most specific class of an
error wins (its MRO is walked), so a subclass answers like its parent until it gets a row of its own.
An `InputError` keeps its own title (it says what the caller got wrong), which is why that branch's
rows have none. Whatever else an answer carries comes from the error's fields: the field errors,
`existingId`, a `WWW-Authenticate` challenge with the OAuth2 code, and `Retry-After` from
`retry_after` (rounded up to whole seconds: it is a floor).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ccbridge.errors import (
    AuthError,
    BridgeError,
    ConflictError,
    HeadersTooLarge,
    InputError,
    Malformed,
    NotFoundError,
    Overloaded,
    QuotaExceeded,
    RateLimited,
    RequestTimeout,
    Retryable,
    ScopeError,
    TooLarge,
    Unavailable,
    WrongMediaType,
)

PROBLEM = "application/problem+json"


class Answer(NamedTuple):
    status: int
    title: str | None  # None: the error's own title


ANSWERS: dict[type[BridgeError], Answer] = {
    AuthError: Answer(401, "unauthorized"),
    ScopeError: Answer(403, "insufficient scope"),
    InputError: Answer(422, None),
    Malformed: Answer(400, None),
    WrongMediaType: Answer(415, None),
    TooLarge: Answer(413, None),
    HeadersTooLarge: Answer(431, None),
    RequestTimeout: Answer(408, None),
    QuotaExceeded: Answer(422, None),
    NotFoundError: Answer(404, "not found"),
    ConflictError: Answer(409, "conflict"),
    Retryable: Answer(503, "unavailable"),
    RateLimited: Answer(429, "too many requests"),
    Unavailable: Answer(503, "unavailable"),
    Overloaded: Answer(503, "overloaded"),
    BridgeError: Answer(500, "internal error"),
}
INTERNAL_DETAIL = "the request could not be completed"


def answer_for(exc: BridgeError) -> Answer:
    """The row of the most specific class of `exc` that has one (BridgeError's at the least)."""
    for cls in type(exc).__mro__:
        if issubclass(cls, BridgeError) and cls in ANSWERS:
            return ANSWERS[cls]
    return ANSWERS[BridgeError]


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM)


def from_error(exc: BridgeError) -> Response:
    """The answer to `exc`; messages never include secrets (errors never hold them)."""
    status, title = answer_for(exc)
    if isinstance(exc, InputError):
        errors = [e.as_dict() for e in exc.errors] or None
        return problem(status, title or exc.title, _detail(exc), errors=errors)
    if status == 500:
        return problem(status, title or "internal error", INTERNAL_DETAIL)
    response = problem(status, title or type(exc).__name__, str(exc), **_fields(exc))
    if isinstance(exc, AuthError):
        response.headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
    if isinstance(exc, Retryable) and exc.retry_after is not None:
        response.headers["Retry-After"] = retry_after_header(exc.retry_after)
    return response


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1, never less than `seconds`."""
    return str(max(1, math.ceil(seconds)))


def _fields(exc: BridgeError) -> dict[str, Any]:
    return {"existingId": exc.existing_id} if isinstance(exc, ConflictError) else {}


def _detail(exc: InputError) -> str:
    return "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.title


async def handle_bridge_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BridgeError)
    return from_error(exc)
