"""Query and path parameters of the history and replay routes, each read once with the field at fault.

A parameter that cannot be read is `Malformed` (400) naming it; an id no row can have is simply not
found (404), as the dead-letter routes answer.
"""

from __future__ import annotations

from datetime import datetime

from ccbridge.core.validation import is_rfc3339
from ccbridge.errors import FieldError, Malformed, NotFoundError

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_ID = 2**63 - 1
"""Rows are numbered by the store's 64-bit integers: a larger id names none."""
LATEST = 253_402_300_799.0
"""9999-12-31T23:59:59Z: the last instant the API can write back as RFC 3339."""


def time_param(value: str | None, name: str) -> float | None:
    """An RFC 3339 date-time (`2026-12-03T10:00:00Z`, an offset is required) as epoch seconds."""
    if value is None or value == "":
        return None
    if not is_rfc3339(value):
        raise Malformed(
            FieldError(name, "must be an RFC 3339 date-time with an offset, e.g. 2026-12-03T10:00:00Z")
        )
    ts = parse_time(value)
    if not 0 <= ts <= LATEST:
        raise Malformed(FieldError(name, "must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"))
    return ts


def parse_time(value: str) -> float:
    """Epoch seconds of a string `is_rfc3339` accepts."""
    normal = value.replace("z", "Z").replace("Z", "+00:00").replace("t", "T").replace(" ", "T")
    return datetime.fromisoformat(normal).timestamp()


def limit_param(value: str | None) -> int:
    """A page size from 1 to `MAX_LIMIT` (default `DEFAULT_LIMIT`)."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not (value.isascii() and value.isdigit()) or len(value) > 4 or not 1 <= int(value) <= MAX_LIMIT:
        raise Malformed(FieldError("limit", f"must be an integer from 1 to {MAX_LIMIT}"))
    return int(value)


def cursor_param(value: str | None) -> int | None:
    """The `nextCursor` of an earlier page."""
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_ID:
        raise Malformed(FieldError("cursor", "is not a cursor this server gave (use nextCursor as is)"))
    return int(value)


def delivery_id(value: int) -> int:
    """`value` if a delivery can have it as its id; NotFoundError otherwise."""
    if not 0 <= value <= MAX_ID:
        raise NotFoundError("no delivery has an id outside 0 to 2^63-1")
    return value
