"""Masking of the credentials a subscription carries, for everything that shows or logs one.

A subscription may hold credentials of its receiver: static headers (`Authorization: Bearer ...`,
`X-Api-Key`) and URLs with a user's password (`https://user:pass@host/`, `amqp://user:pass@host/`)
or a token in the query (`?access_token=...`). The server needs them to deliver; nobody reading the
subscription, its dead letters or the logs needs them, so every answer and log line shows them
masked, and the caller that may write a subscription replaces them rather than reads them back.

Contract:
* A header value is masked to `MASK` when its name is sensitive (`is_sensitive`: it contains one of
  `SENSITIVE_PARTS`, in any case) or the value starts with an HTTP auth scheme (`Bearer ...`).
* A URL keeps everything but its credentials: a password becomes `MASK` (`user:***@host`), a user
  without a password becomes `MASK` (the user may be the token), the value of a query parameter
  with a sensitive name becomes `MASK`. The rest of the URL is kept byte for byte, so masking a
  stored URL and masking a declared one give the same text exactly when they differ at most in
  their credentials (which is how a plan compares them, and how a replace finds the stored
  credential behind a masked one).
* `mask_text` masks every URL inside free text (a failure reason, a log field).
* Masking is idempotent: a masked value masks to itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

MASK = "***"
SENSITIVE_PARTS = ("auth", "cookie", "token", "secret", "key", "password", "passwd", "credential", "session")
"""A header or query-parameter name holding one of these (in any case) names a credential:
Authorization, Proxy-Authorization, Cookie, X-Api-Key, X-Auth-Token, access_token, client_secret..."""
_AUTH_SCHEMES = ("bearer ", "basic ", "digest ", "token ", "negotiate ")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def is_sensitive(name: str) -> bool:
    """Whether a header or query-parameter `name` names a credential."""
    lowered = name.lower()
    return any(part in lowered for part in SENSITIVE_PARTS)


def mask_header(name: str, value: str) -> str:
    """`value` as it may be shown: `MASK` for a credential, else unchanged."""
    if is_sensitive(name) or value.lower().startswith(_AUTH_SCHEMES):
        return MASK
    return value


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: mask_header(name, value) for name, value in headers.items()}


@dataclass(frozen=True, slots=True)
class _Parts:
    """A URL cut where `urllib.parse.urlsplit` (and yarl) cut it; joined, the parts give it back.

    The authority runs from `//` to the first `/`, `?` or `#`; its credentials up to its last `@`.
    """

    head: str  # `scheme://`
    userinfo: str | None
    hostport: str
    path: str
    query: str | None
    tail: str  # `#fragment`, or ""

    def join(self, userinfo: str | None, query: str | None) -> str:
        credentials = "" if userinfo is None else userinfo + "@"
        question = "" if query is None else "?" + query
        return f"{self.head}{credentials}{self.hostport}{self.path}{question}{self.tail}"


def _split(url: str) -> _Parts | None:
    scheme_end = url.find("://")
    if scheme_end < 0:
        return None
    start = scheme_end + 3
    end = _first_of(url, "/?#", start)
    userinfo, at, hostport = url[start:end].rpartition("@")
    rest = url[end:]
    fragment = _first_of(rest, "#", 0)
    rest, tail = rest[:fragment], rest[fragment:]
    path, question, query = rest.partition("?")
    return _Parts(url[:start], userinfo if at else None, hostport, path, query if question else None, tail)


def mask_url(url: str) -> str:
    """`url` with its password, user-only credential and sensitive query values replaced by `MASK`."""
    parts = _split(url)
    if parts is None:
        return url
    userinfo = parts.userinfo
    if userinfo is not None:
        user, colon, _ = userinfo.partition(":")
        userinfo = f"{user}:{MASK}" if colon else MASK
    query = None if parts.query is None else "&".join(_mask_param(p) for p in parts.query.split("&"))
    return parts.join(userinfo, query)


def has_masked_credential(url: str) -> bool:
    """Whether `url` carries `MASK` where `mask_url` puts it: a URL read back, not one to dial."""
    parts = _split(url)
    if parts is None:
        return False
    if parts.userinfo is not None:
        user, colon, password = parts.userinfo.partition(":")
        if (password if colon else user) == MASK:
            return True
    params = [] if parts.query is None else parts.query.split("&")
    return any(_sensitive_param(p) and p.partition("=")[2] == MASK for p in params)


def mask_text(text: str) -> str:
    """`text` with every URL in it masked by `mask_url`."""
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)


def _sensitive_param(param: str) -> bool:
    name, eq, _ = param.partition("=")
    return bool(eq) and is_sensitive(unquote(name))


def _mask_param(param: str) -> str:
    return param.partition("=")[0] + "=" + MASK if _sensitive_param(param) else param


def _first_of(text: str, chars: str, start: int) -> int:
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found) if found else len(text)
