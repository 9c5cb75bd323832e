"""Who is calling: the headers that name ccbridge on every request of the client library.

`User-Agent: ccbridge/<version>` goes on every request (API calls, token requests, registry posts),
so a server's logs can tell ccbridge's clients and their versions apart. A request whose JSON body is
in the Genesys dialect (a subscription with `eventTypes`/`deliveryConfig`, an event with `eventTime`,
`source`, `data`) also carries `X-Genesys-Client-Name`, as Genesys Cloud's own clients send it.
"""

from __future__ import annotations

from typing import Any

from ccbridge import __version__
from ccbridge.core.dialects import detect_dialect

USER_AGENT = f"ccbridge/{__version__}"
GENESYS_CLIENT_NAME = "ccbridge"
GENESYS_EVENT_KEYS = frozenset({"eventTime", "source", "data"})
CXONE_EVENT_KEYS = frozenset({"attributes", "timestamp"})


def is_genesys_body(body: Any) -> bool:
    """True for a subscription or an event body in the Genesys dialect."""
    if not isinstance(body, dict):
        return False
    keys = body.keys()
    return detect_dialect(body) == "genesys" or bool(
        keys & GENESYS_EVENT_KEYS and not keys & CXONE_EVENT_KEYS
    )


def identity_headers(body: Any = None) -> dict[str, str]:
    """The naming headers of one request with JSON `body` (None: no body)."""
    headers = {"User-Agent": USER_AGENT}
    if is_genesys_body(body):
        headers["X-Genesys-Client-Name"] = GENESYS_CLIENT_NAME
    return headers
