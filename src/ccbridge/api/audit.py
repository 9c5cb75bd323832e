"""The audit line of an API write (`audit:` in the config): who did what to which subscription,
and how it ended, refused writes included.

Secrets never reach it: only the client id, the operation, ids, the status, the idempotency key,
the request id (`api.request_id`) and, for a refused write, the one-line `message` of its problem
answer (errors never hold secrets).

Who writes the line when a client with its own audit log (`ccbridge subscriptions apply`) talks to
a server that audits: the server, which knows how every write ended, refused ones too. Its answers
to subscription writes then carry `AUDITED_HEADER: server`, and a client that sees it does not write
a line of its own, so a client and a server sharing one audit file give one line per write. A
server without `audit:` sends no such header, and the client keeps its own trail.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ccbridge.api.problems import INTERNAL_DETAIL, from_error, problem, summary
from ccbridge.api.request_id import request_id
from ccbridge.api.services import Services
from ccbridge.api.tokens import Principal
from ccbridge.errors import BridgeError

log = structlog.get_logger("ccbridge.api")
AUDITED_HEADER = "X-Audit-Logged"
Handler = Callable[..., Awaitable[Response]]


def audit(
    services: Services,
    request: Request,
    principal: Principal | None,
    operation: str,
    *,
    subscription_id: str | None,
    status: int,
    idempotency_key: str | None = None,
    message: str | None = None,
) -> None:
    """Append one line when an audit log is configured (fire-and-forget; drained at shutdown).
    `principal` is None when the caller could not be identified (a refused token)."""
    if services.audit is None:
        return
    services.audit.record(
        actor=None if principal is None else principal.client_id,
        operation=operation,
        subscription_id=subscription_id,
        status=status,
        idempotency_key=idempotency_key,
        request_id=request_id(request) or request.headers.get("x-request-id"),
        message=message,
    )


def audit_headers(services: Services) -> dict[str, str]:
    """The headers that tell a client the server audited its write (empty without `audit:`)."""
    return {AUDITED_HEADER: "server"} if services.audit is not None else {}


def audit_refusals(
    services: Services,
    operation: str,
    handler: Handler,
    *,
    refused: Callable[[int], None] | None = None,
    headers: Callable[[], dict[str, str]] | None = None,
) -> Handler:
    """`handler` (a write route) whose refusals get their audit line too: the status and one-line
    message it answers with, the caller when its token says. `refused(status)` is told of each
    refusal (a counter); every answer carries `audit_headers` and `headers()`. The successful path
    audits itself, since only the handler knows what it wrote."""

    @functools.wraps(handler)  # FastAPI reads the path parameters from the handler's signature
    async def write(request: Request, **path: Any) -> Response:
        try:
            response = await handler(request, **path)
        except ClientDisconnect:  # nobody to answer, nothing refused: the app's handler logs it
            raise
        except Exception as exc:
            status, message = summary(exc, request.url.path)
            if not isinstance(exc, BridgeError):
                log.error("unhandled error", path=request.url.path, error_type=type(exc).__name__)
            if refused is not None:
                refused(status)
            audit(
                services,
                request,
                _caller(services, request),
                operation,
                subscription_id=path.get("subscription_id"),
                status=status,
                idempotency_key=request.headers.get("idempotency-key"),
                message=message,
            )
            response = (
                from_error(exc, request.url.path)
                if isinstance(exc, BridgeError)
                else problem(500, "internal error", INTERNAL_DETAIL)
            )
        response.headers.update({**audit_headers(services), **(headers() if headers else {})})
        return response

    return write


def _caller(services: Services, request: Request) -> Principal | None:
    """Who sent a refused write, when its token says (None for a refused token)."""
    try:
        return services.tokens.verify(request.headers.get("authorization"))
    except BridgeError:
        return None
