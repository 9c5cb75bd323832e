"""Request headers looked up in O(1), for the routes that take events at volume.

Why: Starlette's `Headers` scans the raw header list, decoding as it goes, on every lookup, and one
event request looks up about eight headers (authorization, content type and length, correlation
id, two idempotency-key spellings, traceparent, request id). `IndexedHeaders` indexes the list
once per request. It is a `Headers` (same raw list, same iteration, `getlist`, `raw`); a repeated
header answers its first value, as `Headers` does.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, TypeVar, overload

from starlette.datastructures import Headers

T = TypeVar("T")


class IndexedHeaders(Headers):
    def __init__(self, scope: MutableMapping[str, Any]) -> None:
        super().__init__(scope=scope)
        index: dict[bytes, bytes] = {}
        for name, value in self._list:
            index.setdefault(name, value)
        self._index = index

    def __getitem__(self, key: str) -> str:
        value = self._index.get(key.lower().encode("latin-1"))
        if value is None:
            raise KeyError(key)
        return value.decode("latin-1")

    @overload
    def get(self, key: str, /) -> str | None: ...

    @overload
    def get(self, key: str, default: str, /) -> str: ...

    @overload
    def get(self, key: str, default: T, /) -> str | T: ...

    def get(self, key: str, default: object = None, /) -> object:
        value = self._index.get(key.lower().encode("latin-1"))
        return default if value is None else value.decode("latin-1")

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key.lower().encode("latin-1") in self._index


def raw_header(scope: MutableMapping[str, Any], name: bytes) -> bytes | None:
    """The first value of header `name` (lower case) in an ASGI scope, without building `Headers`."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None
