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

from starlette.requests import Request

from ccbridge.api.request_id import request_id
from ccbridge.api.services import Services
from ccbridge.api.tokens import Principal

AUDITED_HEADER = "X-Audit-Logged"


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
