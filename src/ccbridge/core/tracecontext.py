"""W3C Trace Context (`traceparent`) as ccbridge accepts it on every inbound route and forwards it.

`version-traceid-parentid-flags`, lower-case hex: `00-<32 hex>-<16 hex>-<2 hex>`. Per the W3C
recommendation, a header that is not well-formed (wrong lengths, upper case, an all-zero trace or
parent id, version `ff`) is ignored rather than refused: the request is served and the event simply
carries no trace context. Version 00 must be exactly 55 characters; a later version may append
fields after the flags, which are dropped.
"""

from __future__ import annotations

import re

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


def valid_traceparent(value: str | None) -> str | None:
    """`value` (surrounding spaces trimmed) when it is a well-formed traceparent, else None."""
    if value is None:
        return None
    text = value.strip()
    match = _TRACEPARENT.match(text)
    if match is None:
        return None
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    if version == "00" and rest is not None:
        return None
    return text[:55]
