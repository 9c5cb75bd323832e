"""The audit line of an API write (`audit:` in the config): who did what to which subscription.

Secrets never reach it: only the client id, the operation, ids, the status and the idempotency key.
"""

from __future__ import annotations

from starlette.requests import Request

from ccbridge.api.services import Services
from ccbridge.api.tokens import Principal


def audit(
    services: Services,
    request: Request,
    principal: Principal,
    operation: str,
    *,
    subscription_id: str | None,
    status: int,
    idempotency_key: str | None = None,
) -> None:
    """Append one line when an audit log is configured (fire-and-forget; drained at shutdown)."""
    if services.audit is None:
        return
    services.audit.record(
        actor=principal.client_id,
        operation=operation,
        subscription_id=subscription_id,
        status=status,
        idempotency_key=idempotency_key,
        request_id=request.headers.get("x-request-id"),
    )
