"""JSON request bodies, read once and strictly, for every route that takes one (the API, `/events`,
`/ingest`): what is accepted here can always be written again, so a stored event can always be
wrapped and encoded for delivery.

Contracts, each refusal a `Malformed` naming `body` (a `WrongMediaType` naming `Content-Type`):
- the media type is `application/json` or `application/<anything>+json`, parameters (`charset`)
  allowed, case ignored; no Content-Type at all is refused too;
- the text is UTF-8 JSON as orjson reads it: no NaN/Infinity, no lone surrogates, no number that
  a double cannot hold (1e400, 400-digit integers);
- containers nest at most `MAX_DEPTH` levels (`{}` is one level). The encoder refuses a document
  deeper than 254 levels, and delivery wraps the event's data in a few levels of its own, so the
  limit leaves that headroom with room to spare;
- no object repeats a key: parsers disagree on which of the two wins, so a signed or validated body
  could be read differently downstream.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from ccbridge.errors import FieldError, Malformed, WrongMediaType

MAX_DEPTH = 64
"""The deepest accepted nesting of a body's containers."""


def require_json_media(content_type: str | None) -> None:
    """WrongMediaType unless `content_type` names JSON (`application/json`, `application/*+json`)."""
    media = (content_type or "").partition(";")[0].strip().lower()
    kind, _, subtype = media.partition("/")
    if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
        given = f"not {media!r}" if media else "not missing"
        raise WrongMediaType(FieldError("Content-Type", f"must be application/json, {given}"))


def parse_json_body(raw: bytes) -> Any:
    """The JSON value of `raw`; Malformed (field `body`) for anything the contracts above refuse."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Malformed(FieldError("body", f"is not valid JSON: {exc.msg}"), title="malformed JSON") from exc
    # a document cannot be deeper than it has opening brackets: most bodies skip the walk
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH and depth(value) > MAX_DEPTH:
        raise Malformed(
            FieldError("body", f"nests deeper than {MAX_DEPTH} levels of objects and arrays"),
            title="malformed JSON",
        )
    if b"{" in raw and not _written_canonically(value, raw):
        _refuse_duplicate_keys(raw)
    return value


def _written_canonically(value: Any, raw: bytes) -> bool:
    """Whether `raw` is byte for byte orjson's compact writing of `value` (what most clients send:
    JSON.stringify, httpx, orjson). Then no key repeats: a repeated key's pair is in `raw` but not
    in `value`, so `raw` would be longer. Writing it costs a tenth of the duplicate scan."""
    try:
        return orjson.dumps(value) == raw
    except orjson.JSONEncodeError:
        return False


def depth(value: Any) -> int:
    """How many levels of containers `value` nests (0 for a scalar, 1 for `{}` or `[]`)."""
    deepest = 0
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise Malformed(FieldError("body", f"repeats the key {key[:64]!r}"), title="malformed JSON")
        seen.add(key)


_KEYS_CHECKER = json.JSONDecoder(object_pairs_hook=_no_duplicates)


def _refuse_duplicate_keys(raw: bytes) -> None:
    """orjson keeps the last of two equal keys without a word; the standard parser's pairs hook sees
    them all (it builds no objects: the hook returns None). `raw` is JSON orjson read by now."""
    try:
        _KEYS_CHECKER.decode(raw.decode())
    except ValueError as exc:  # the two parsers disagree on some text: refuse it rather than guess
        raise Malformed(FieldError("body", "is not valid JSON"), title="malformed JSON") from exc
