"""RFC 9457 problem+json answers: the one place where the error tree becomes HTTP statuses.

`ANSWERS` maps each class of `ccbridge.errors` to its status and title; the most specific class of an
error wins (its MRO is walked), so a subclass answers like its parent until it gets a row of its own.
An `InputError` keeps its own title (it says what the caller got wrong), which is why that branch's
rows have none. Whatever else an answer carries comes from the error's fields: the field errors,
`existingId`, a `WWW-Authenticate` challenge with the OAuth2 code, and `Retry-After` from
`retry_after` (rounded up to whole seconds: it is a floor).

Every body also carries what the documents' clients and Genesys Cloud's own error bodies read:
`message`, one line naming the first field at fault (or the detail), and `code`, a stable machine word
(`bad.request`, `not.found`, ...): the row's own code, or else the word of the status answered
(`STATUS_CODES`). On the documents' routes (`DOCUMENT_ROUTES`, `/api/v2/eventbridge/...`) an answer
that would be 422 is 400, as seed 001's client expects of a payload that "violates schema validation
rules"; every other route (`/ingest`, `POST /events`) keeps 422 (`status_on`).
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any, NamedTuple

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ccbridge.errors import (
    AuthError,
    BadSignature,
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
    code: str | None = None  # None: the word of the status answered (STATUS_CODES)


ANSWERS: dict[type[BridgeError], Answer] = {
    AuthError: Answer(401, "unauthorized"),
    ScopeError: Answer(403, "insufficient scope"),
    BadSignature: Answer(403, "invalid signature"),
    InputError: Answer(422, None),
    Malformed: Answer(400, None),
    WrongMediaType: Answer(415, None),
    TooLarge: Answer(413, None),
    HeadersTooLarge: Answer(431, None),
    RequestTimeout: Answer(408, None),
    QuotaExceeded: Answer(422, None, "quota.exceeded"),
    NotFoundError: Answer(404, "not found"),
    ConflictError: Answer(409, "conflict"),
    Retryable: Answer(503, "unavailable"),
    RateLimited: Answer(429, "too many requests"),
    Unavailable: Answer(503, "unavailable"),
    Overloaded: Answer(503, "overloaded", "overloaded"),
    BridgeError: Answer(500, "internal error"),
}
INTERNAL_DETAIL = "the request could not be completed"
STATUS_CODES: dict[int, str] = {
    400: "bad.request",
    401: "unauthorized",
    403: "forbidden",
    404: "not.found",
    405: "method.not.allowed",
    408: "request.timeout",
    409: "conflict",
    413: "payload.too.large",
    415: "unsupported.media.type",
    422: "unprocessable.entity",
    429: "too.many.requests",
    431: "request.header.fields.too.large",
    500: "internal.server.error",
    503: "service.unavailable",
}
DOCUMENT_ROUTES = "/api/v2/eventbridge"


def status_on(path: str, status: int) -> int:
    """The status a route answers for `status`: 400 for 422 on the documents' routes."""
    on_documents = path == DOCUMENT_ROUTES or path.startswith(DOCUMENT_ROUTES + "/")
    return 400 if status == 422 and on_documents else status


def code_for(status: int) -> str:
    """The stable word of `status` (`bad.request`); a status without a row gets its phrase, dotted."""
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", ".").replace("-", ".")
    except ValueError:
        return "error"


def answer_for(exc: BridgeError) -> Answer:
    """The row of the most specific class of `exc` that has one (BridgeError's at the least)."""
    for cls in type(exc).__mro__:
        if issubclass(cls, BridgeError) and cls in ANSWERS:
            return ANSWERS[cls]
    return ANSWERS[BridgeError]


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    code: str | None = None,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json answer; `message` is the first field at fault, else the detail, else the title."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body["message"] = _message(title, detail, errors)
    body["code"] = code or code_for(status)
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM)


def from_error(exc: BridgeError, path: str = "") -> Response:
    """The answer to `exc` on the route at `path`; messages never include secrets (errors never
    hold them)."""
    answered, title, own_code = answer_for(exc)
    status = status_on(path, answered)
    code = own_code or code_for(status)
    if isinstance(exc, InputError):
        errors = [e.as_dict() for e in exc.errors] or None
        return problem(status, title or exc.title, _detail(exc), code=code, errors=errors)
    if status == 500:
        return problem(status, title or "internal error", INTERNAL_DETAIL, code=code)
    response = problem(status, title or type(exc).__name__, str(exc), code=code, **_fields(exc))
    if isinstance(exc, AuthError) and not isinstance(exc, BadSignature):
        response.headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
    if isinstance(exc, Retryable) and exc.retry_after is not None:
        response.headers["Retry-After"] = retry_after_header(exc.retry_after)
    return response


def summary(exc: BaseException, path: str = "") -> tuple[int, str]:
    """The status and one-line `message` the route at `path` answers `exc` with (500 and the
    internal detail for anything outside the error tree)."""
    if not isinstance(exc, BridgeError):
        return 500, INTERNAL_DETAIL
    body = orjson.loads(from_error(exc, path).body)
    return int(body["status"]), str(body["message"])


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1, never less than `seconds`."""
    return str(max(1, math.ceil(seconds)))


def _fields(exc: BridgeError) -> dict[str, Any]:
    return {"existingId": exc.existing_id} if isinstance(exc, ConflictError) else {}


def _detail(exc: InputError) -> str:
    return "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.title


def _message(title: str, detail: str | None, errors: list[dict[str, str]] | None) -> str:
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return " ".join(f"{first['field']}: {first['message']}{more}".split())
    return " ".join((detail or title).split())


async def handle_bridge_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BridgeError)
    return from_error(exc, request.url.path)
