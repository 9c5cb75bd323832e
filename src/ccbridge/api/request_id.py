"""`X-Request-Id` on every answer: the caller's own when it sent a usable one, else a fresh UUID.

The id ties an answer to the server's audit line of the same request (`api.audit`), and a client's
log to both. It is kept in the ASGI scope under `SCOPE_KEY` for the handlers. A given id is used only
when it is 1 to 255 printable ASCII characters (it goes into logs and a header); any other value is
replaced by a minted one rather than refused, since the id is for tracing, not for the request.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccbridge.api.headers import raw_header
from ccbridge.core.ids import uuid4_str

HEADER = "X-Request-Id"
_RAW = HEADER.lower().encode("ascii")
SCOPE_KEY = "ccbridge.request_id"
MAX_LENGTH = 255


def usable(value: str | None) -> bool:
    return value is not None and 0 < len(value) <= MAX_LENGTH and value.isascii() and value.isprintable()


def request_id(request: Request) -> str | None:
    """The id of `request`, as the middleware chose it (None outside the middleware)."""
    value = request.scope.get(SCOPE_KEY)
    return value if isinstance(value, str) else None


class RequestIds:
    """ASGI middleware: picks the request's id and adds it to the answer's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = raw_header(scope, _RAW)
        given = None if raw is None else raw.decode("latin-1")
        chosen = given if given is not None and usable(given) else uuid4_str()
        scope[SCOPE_KEY] = chosen
        header = (_RAW, chosen.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [item for item in message.get("headers", ()) if item[0] != _RAW]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
