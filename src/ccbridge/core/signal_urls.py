"""The `cxone-signal` endpoint URL: which connector signals, and where in the event its values are.

    cxone://<connector>/signal?contactId=data.contactId&p1=data.skill&p2=data.reason

The host is the name of a configured `connectors.cxone` entry (kept as written: connector names are
case-sensitive, so the URL's netloc is read, not its lower-cased hostname). `contactId` (required)
and `p1`..`p9` (optional, each at most once, the Signal API's nine parameters) are paths into the
event document a webhook receives (`id`, `event`, `source`, `time`, `data`, `metadata`): dot-separated
keys, a key of digits also indexing a list (`data.skills.0`). The subscription parser and the
endpoint read the URL with the same `parse_signal_url`, so what is accepted can be delivered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SCHEME = "cxone"
PARAMS = tuple(f"p{i}" for i in range(1, 10))
DOCUMENT_ROOTS = frozenset({"id", "event", "source", "time", "data", "metadata"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_PATH = re.compile(r"[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*\Z")
MISSING: Any = object()
"""What `lookup` answers for a path the document does not have."""


@dataclass(frozen=True, slots=True)
class SignalTarget:
    """A parsed signal URL: the connector's name, the contact id's path, and (name, path) per parameter
    in the order p1..p9."""

    connector: str
    contact_path: str
    params: tuple[tuple[str, str], ...]


def parse_signal_url(url: str) -> SignalTarget:
    """The target of `url`; raises ValueError saying what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme != SCHEME:
        raise ValueError("must use cxone://")
    if not _NAME.match(parts.netloc):
        raise ValueError("must name a CXone connector: cxone://<connector>/signal?contactId=<path>")
    if parts.path != "/signal" or parts.fragment:
        raise ValueError("must be cxone://<connector>/signal?contactId=<path>&p1=<path>...")
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError("has a query that cannot be read") from None
    found: dict[str, str] = {}
    for key, value in pairs:
        if key != "contactId" and key not in PARAMS:
            raise ValueError(f"names {key!r}: only contactId and p1..p9 are allowed")
        if key in found:
            raise ValueError(f"names {key} twice")
        _check_path(key, value)
        found[key] = value
    if "contactId" not in found:
        raise ValueError("must say where the contact id is: contactId=<path>, e.g. contactId=data.contactId")
    params = tuple((name, found[name]) for name in PARAMS if name in found)
    return SignalTarget(parts.netloc, found["contactId"], params)


def _check_path(key: str, path: str) -> None:
    if not _PATH.match(path):
        raise ValueError(f"{key} must be a dotted path into the event, e.g. data.contactId")
    if path.split(".", 1)[0] not in DOCUMENT_ROOTS:
        roots = ", ".join(sorted(DOCUMENT_ROOTS))
        raise ValueError(f"{key} must start at a part of the event ({roots})")


def lookup(document: Any, path: str) -> Any:
    """The value at `path` (dot-separated) in `document`, or MISSING; digits index lists."""
    value = document
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return MISSING
    return value
