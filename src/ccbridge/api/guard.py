"""Bearer-token checks for the `/api/v2/eventbridge/...` routes."""

from __future__ import annotations

from starlette.requests import Request

from ccbridge.api.services import Services
from ccbridge.api.tokens import Principal

READ = "eventbridge:subscriptions:read"
WRITE = "eventbridge:subscriptions:write"
EVENTS = "eventbridge:events:write"


def authorize(services: Services, request: Request, scope: str) -> Principal:
    """401 when the token is missing, malformed or expired; 403 when `scope` is missing."""
    principal = services.tokens.verify(request.headers.get("authorization"))
    principal.require(scope)
    return principal
