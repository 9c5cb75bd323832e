"""Request helpers for the hand-tuned routes: bounded body reads, JSON bodies read by the one set of
rules every route shares (`core.jsonbody`), and fast JSON answers."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ccbridge.core.jsonbody import parse_json_body, require_json_media
from ccbridge.errors import FieldError, TooLarge


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body; TooLarge as soon as it passes `limit` bytes (before reading it all)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise TooLarge(FieldError("body", f"is larger than {limit} bytes"))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(FieldError("body", f"is larger than {limit} bytes"))
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(request: Request, raw: bytes) -> Any:
    """`raw`, the body of `request`, as JSON: WrongMediaType unless the request says it is JSON,
    Malformed unless it is JSON `core.jsonbody` accepts."""
    require_json_media(request.headers.get("content-type"))
    return parse_json_body(raw)


async def read_json(request: Request, limit: int) -> Any:
    """The JSON body of `request`: its media type is checked before a byte of it is read."""
    require_json_media(request.headers.get("content-type"))
    return parse_json_body(await read_body(request, limit))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)
