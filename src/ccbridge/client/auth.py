"""OAuth2 client-credentials bearer tokens as an `httpx.Auth`, shared by every request of a client.

Contract:
* One token request at a time per instance (an `asyncio.Lock`): 100 tasks that need a token at
  once cause one request; the others wait and reuse its token.
* A token is renewed `min(margin, margin_ratio * expires_in)` seconds before it expires, so a
  request never leaves with a token about to lapse, and a short-lived token is still used.
* A 401 on a request triggers one forced renewal (unless another task already renewed the token the
  request carried) and one resend of the same request; a second 401 is the caller's to handle.
* Token requests go straight to `transport` (normally the client's retrying transport), never
  through this auth, so they get the same retries without recursion.
* The secret is sent only to `token_url`; neither it nor a token appears in an error message.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Literal
from urllib.parse import urlencode

import httpx
import orjson

from ccbridge.client.errors import ApiAuthError, error_from_response, transport_error
from ccbridge.client.identity import identity_headers
from ccbridge.client.retrying import RETRY_AFTER


class ClientCredentialsAuth(httpx.Auth):
    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        transport: httpx.AsyncBaseTransport,
        *,
        scopes: Sequence[str] = (),
        style: Literal["form", "basic"] = "form",
        timeout: float = 10.0,
        margin: float = 60.0,
        margin_ratio: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url, self._id, self._secret = token_url, client_id, client_secret
        self._transport, self._scopes, self._style = transport, list(scopes), style
        self._timeout, self._margin, self._ratio, self._clock = timeout, margin, margin_ratio, clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.requests = 0  # token requests sent; lets tests and metrics see the cache work

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("ClientCredentialsAuth needs httpx.AsyncClient")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = await self.token(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    async def token(self, stale: str | None = None) -> str:
        """A valid access token; `stale` is a token the server refused, renewed unless already replaced."""
        async with self._lock:
            fresh = self._token is not None and self._clock() < self._renew_at
            if not fresh or (stale is not None and stale == self._token):
                await self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (after a credential rotation, say)."""
        self._token = None

    def _request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            **identity_headers(),
        }
        if self._style == "basic":
            pair = f"{self._id}:{self._secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form |= {"client_id": self._id, "client_secret": self._secret}
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        timeout = httpx.Timeout(self._timeout).as_dict()
        return httpx.Request(
            "POST", self._url, headers=headers, content=urlencode(form), extensions={"timeout": timeout}
        )

    async def _fetch(self) -> None:
        request = self._request()
        self.requests += 1
        started = self._clock()
        try:
            response = await self._transport.handle_async_request(request)
            response.request = request
            await response.aread()
        except httpx.TransportError as exc:
            raise transport_error(exc, request) from None
        if response.status_code in (400, 401, 403):
            body = _json(response.content)
            code = str(body.get("error") or "invalid_client")
            detail = str(body.get("error_description") or body.get("detail") or code)
            raise ApiAuthError(f"token request refused: {detail}", response.status_code, code)
        if response.status_code != 200:
            raise error_from_response(response, response.extensions.get(RETRY_AFTER))
        body = _json(response.content)
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise ApiAuthError("token response without an access_token", 200, "invalid_response")
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float | str) else 3600.0
        self._token = access
        self._renew_at = started + lifetime - min(self._margin, self._ratio * lifetime)


def _json(content: bytes) -> dict[str, object]:
    try:
        parsed = orjson.loads(content)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
