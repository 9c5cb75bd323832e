"""Small field checks shared by the body parsers (`dialects`, `envelopes`, the inbound route).

Each check appends a `FieldError` (path, message) instead of raising, so a request is answered with
every field at fault at once; each returns a usable value (the default, or None) after an error so
the parser can go on checking the rest.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ccbridge.core.signal_urls import parse_signal_url
from ccbridge.core.urls import grpc_target
from ccbridge.errors import FieldError

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def is_rfc3339(value: Any) -> bool:
    """An RFC 3339 date-time with an offset (`Z` or `+hh:mm`) that names a real instant."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
    except ValueError:
        return False
    return True


class Errors:
    """The field errors of one body, in the order they were found."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldError(field, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def string(
        self, body: dict[str, Any], key: str, path: str, required: bool = True, max_len: int = 1000
    ) -> str | None:
        """`body[key]` as a string of at most `max_len` characters (non-blank when required)."""
        value = body.get(key)
        if value is None:
            if required:
                self.add(path, "is required")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.add(path, "must be a non-empty string")
            return None
        if len(value) > max_len:
            self.add(path, f"must be at most {max_len} characters")
            return None
        return value

    def integer(
        self, body: dict[str, Any], key: str, path: str, default: int, low: int = 0, high: int | None = None
    ) -> int:
        """`body[key]` as an integer in [low, high] (booleans are not integers); `default` when absent."""
        value = body.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "must be an integer")
            return default
        if value < low:
            self.add(path, "must not be negative" if low == 0 else f"must be at least {low}")
        elif high is not None and value > high:
            self.add(path, f"must be at most {high}")
        return value

    def obj(self, body: dict[str, Any], key: str, path: str) -> dict[str, Any]:
        """`body[key]` as an object; {} when absent or null."""
        value = body.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(path, "must be an object")
            return {}
        return value

    def unknown(self, body: dict[str, Any], allowed: Collection[str], prefix: str = "") -> None:
        """Each key of `body` not in `allowed` is an error at `prefix + key`."""
        for key in body:
            if key not in allowed:
                self.add(f"{prefix}{key}", "unknown field")

    def string_map(self, body: dict[str, Any], key: str, path: str) -> dict[str, str]:
        """`body[key]` as an object of strings; the values that are strings when some are not."""
        value = self.obj(body, key, path)
        for k, v in value.items():
            if not isinstance(v, str):
                self.add(f"{path}.{k}", "must be a string")
        return {k: v for k, v in value.items() if isinstance(v, str)}


def url_problem(url: Any, schemes: tuple[str, ...]) -> str | None:
    """Why `url` is not an absolute URL of one of `schemes` with a host, or None if it is.

    gRPC URLs are what the gRPC endpoint can dial: `grpc://host:port` or `grpcs://host[:port]`
    (443 by default), with no path, query, fragment or credentials. CXone Signal URLs are
    `core.signal_urls`' form (`cxone://<connector>/signal?contactId=<path>&p1=<path>...`).
    """
    if not isinstance(url, str) or not url:
        return "must be a non-empty string"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError when the port is out of range
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in schemes:
        return f"must use {' or '.join(s + '://' for s in schemes)}"
    if not parts.hostname:
        return "must name a host"
    if any(c.isspace() for c in url):
        return "must not contain white space"
    if parts.scheme in ("grpc", "grpcs"):
        try:
            grpc_target(url)
        except ValueError as exc:
            return str(exc)
    if parts.scheme == "cxone":
        try:
            parse_signal_url(url)
        except ValueError as exc:
            return str(exc)
    return None
