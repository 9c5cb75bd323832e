"""One call to a CXone tenant's API with its bearer token: the one place a 401 renews the token.

`call` answers the HTTP status with the JSON body (None when there is none or it is not JSON) and
the Retry-After floor; classifying the status is the caller's (the agent source and the Signal
endpoint differ in what a 404 means). A 401 renews the token and repeats the call once; a second
401 is answered as it is. A timeout or a failed connection raises `Retryable`; a refused token
grant raises `AuthError` (both from `CxoneAuth`, or here for the call itself).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from ccbridge.connectors.cxone.auth import CxoneAuth
from ccbridge.core.retry import parse_retry_after
from ccbridge.errors import Retryable

API_BASE = "/incontactapi/services/v30.0"
"""The API version the connector speaks, under the tenant's discovered `api_endpoint`."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any
    retry_after: float | None = None


async def call(
    auth: CxoneAuth,
    method: str,
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    within: float = 10.0,
) -> Answer:
    """`method` `{api_endpoint}{API_BASE}{path}` within `within` seconds a try, with one token
    renewal on a 401."""
    url = await auth.api_endpoint() + API_BASE + path
    token = await auth.access_token()
    answer = await _send(auth, method, url, token, params, json, within)
    if answer.status == 401:
        token = await auth.renew(token)
        answer = await _send(auth, method, url, token, params, json, within)
    return answer


async def _send(
    auth: CxoneAuth,
    method: str,
    url: str,
    token: str,
    params: Mapping[str, str] | None,
    json: Any,
    within: float,
) -> Answer:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        async with auth.session().request(
            method,
            url,
            params=params,
            json=json,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=within),
        ) as response:
            body: Any = None
            if 200 <= response.status < 300 and response.status != 204:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
            else:
                await response.read()
            return Answer(
                response.status, body, parse_retry_after(response.headers.get("Retry-After"), time.time())
            )
    except TimeoutError:
        raise Retryable(f"CXone {method} timed out after {within:.0f}s") from None
    except aiohttp.ClientError as exc:
        raise Retryable(f"CXone {method} failed: {_short(exc)}") from None


def _short(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection failed"
    return type(exc).__name__
