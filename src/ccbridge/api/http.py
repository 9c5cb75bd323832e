"""Request helpers for the hand-tuned routes: bounded body reads and fast JSON answers."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ccbridge.errors import FieldError, Malformed, TooLarge


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body; TooLarge as soon as it passes `limit` bytes (before reading it all)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(FieldError("body", f"is larger than {limit} bytes"))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(FieldError("body", f"is larger than {limit} bytes"))
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Malformed(FieldError("body", f"is not valid JSON: {exc.msg}"), title="malformed JSON") from exc


async def read_json(request: Request, limit: int) -> Any:
    return parse_json(await read_body(request, limit))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)
