"""Typed errors of the client, each also a ccbridge error so callers can branch on either tree.

    ApiError (BridgeError)                      every failed call; `status` and the problem body
     +-- ApiAuthError (AuthError)               401/403, or the token endpoint refused the credentials
     +-- ApiValidationError (InputError)        400/413/422; `errors` are the server's field errors
     +-- ApiNotFoundError (NotFoundError)       404
     +-- ApiConflictError (ConflictError)       409; `existing_id` lets apply adopt the subscription
     +-- RateLimitExhausted (Retryable)         429 still answered after every retry
     +-- ApiServerError (Retryable)             5xx after every retry, or no answer at all (status None)
     +-- ApiRequestError (Permanent)            any other 4xx

A response is mapped once, in `error_from_response`, after the retry layer has given up. The message
names the answer's one-line `message` (what the documents' clients print) when the server gives one,
else its `detail`; `problem` keeps the whole body (`code`, `errors`, ...).
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from ccbridge.client.retrying import OVER_BUDGET
from ccbridge.errors import (
    AuthError,
    BridgeError,
    ConflictError,
    FieldError,
    InputError,
    NotFoundError,
    Permanent,
    Retryable,
)


class ApiError(BridgeError):
    """Base of the client's errors: `status` is the HTTP status (None without an answer)."""

    status: int | None = None
    problem: dict[str, Any]
    server_audited: bool = False  # the server wrote the audit line of this refused write
    request_id: str | None = None  # the server's X-Request-Id of the answer

    def _attach(self, status: int | None, problem: dict[str, Any] | None) -> None:
        self.status = status
        self.problem = problem or {}


class ApiAuthError(ApiError, AuthError):
    def __init__(self, message: str, status: int | None = 401, code: str = "invalid_client") -> None:
        AuthError.__init__(self, message, code)
        self._attach(status, None)


class ApiValidationError(ApiError, InputError):
    def __init__(self, errors: list[FieldError], status: int = 422, title: str = "invalid request") -> None:
        InputError.__init__(self, errors, title)
        self._attach(status, None)


class ApiNotFoundError(ApiError, NotFoundError):
    def __init__(self, message: str) -> None:
        NotFoundError.__init__(self, message)
        self._attach(404, None)


class ApiConflictError(ApiError, ConflictError):
    def __init__(self, message: str, existing_id: str | None = None) -> None:
        ConflictError.__init__(self, message, existing_id)
        self._attach(409, None)


class RateLimitExhausted(ApiError, Retryable):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        Retryable.__init__(self, message, retry_after)
        self._attach(429, None)


class ApiServerError(ApiError, Retryable):
    def __init__(self, message: str, status: int | None = None) -> None:
        Retryable.__init__(self, message)
        self._attach(status, None)


class ApiRequestError(ApiError, Permanent):
    def __init__(self, message: str, status: int) -> None:
        Permanent.__init__(self, message)
        self._attach(status, None)


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _field_errors(problem: dict[str, Any], fallback: str) -> list[FieldError]:
    found = [
        FieldError(str(e.get("field", "")), str(e.get("message", "")))
        for e in problem.get("errors") or []
        if isinstance(e, dict)
    ]
    return found or [FieldError("request", fallback)]


def _wait(retry_after: float | None, budget: float | None) -> str:
    """What a 429 asked for: the wait, and the client's budget when the wait is beyond it."""
    if retry_after is None:
        return ""
    beyond = f", beyond the client's budget of {budget:g} s (max_retry_after)" if budget is not None else ""
    return f" (the server asked to wait {retry_after:g} s{beyond})"


def error_from_response(response: httpx.Response, retry_after: float | None = None) -> ApiError:
    """The typed error of a non-2xx answer; its message never includes request headers (tokens)."""
    status = response.status_code
    problem = _body(response)
    detail = str(
        problem.get("message")
        or problem.get("detail")
        or problem.get("error_description")
        or problem.get("error")
        or ""
    )
    message = f"{response.request.method} {response.request.url.path}: {status} {detail}".rstrip()
    error: ApiError
    if status in (401, 403):
        error = ApiAuthError(message, status, str(problem.get("error") or "invalid_token"))
    elif status in (400, 413, 422):
        title = str(problem.get("title") or "invalid request")
        error = ApiValidationError(_field_errors(problem, detail or title), status, title)
    elif status == 404:
        error = ApiNotFoundError(message)
    elif status == 409:
        existing = problem.get("existingId")
        error = ApiConflictError(message, str(existing) if existing is not None else None)
    elif status == 429:
        error = RateLimitExhausted(
            message + _wait(retry_after, response.extensions.get(OVER_BUDGET)), retry_after
        )
    elif status >= 500:
        error = ApiServerError(message, status)
    else:
        error = ApiRequestError(message, status)
    error.problem = problem
    error.server_audited = response.headers.get("X-Audit-Logged") == "server"
    error.request_id = response.headers.get("X-Request-Id")
    return error


def transport_error(exc: httpx.TransportError, request: httpx.Request | None = None) -> ApiServerError:
    """No usable answer after every retry: a timeout or a connection failure."""
    where = f"{request.method} {request.url.path}: " if request is not None else ""
    return ApiServerError(f"{where}{type(exc).__name__}: {exc}".rstrip(": "))
