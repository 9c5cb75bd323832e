"""Client-credentials tokens for one Genesys Cloud OAuth client, cached and renewed before expiry.

`POST <login>/oauth/token` with `grant_type=client_credentials` and the client id and secret as
HTTP Basic answers `{access_token, token_type, expires_in}`. The token is used until `margin`
before it expires (a tenth of its life, at most five minutes), then a new one is fetched; a 401
from the API (`invalidate`) fetches a new one at once. The secret and tokens are never logged.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

from ccbridge.connectors.genesys.http import GenesysHttp
from ccbridge.errors import AuthError, Permanent


class ClientCredentials:
    def __init__(
        self, http: GenesysHttp, login_url: str, client_id: str, secret: str, now: Callable[[], float]
    ) -> None:
        self._http = http
        self._url = login_url + "/oauth/token"
        self._basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        self._now = now
        self._token: str | None = None
        self.expires_at: float | None = None  # epoch seconds
        self.renew_at = 0.0  # epoch seconds: from then on a new token is fetched
        self._lock = asyncio.Lock()  # channel groups share the token: one fetch at a time

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or self._now() >= self.renew_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        self._token = None

    def expired(self) -> bool:
        """Whether the token in use has passed its renewal point (a socket opened with it should move)."""
        return self._token is not None and self._now() >= self.renew_at

    async def _fetch(self) -> None:
        try:
            answer = await self._http.call(
                "POST",
                self._url,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": self._basic},
            )
        except (AuthError, Permanent) as exc:
            raise AuthError(
                f"Genesys Cloud refused the client credentials: {exc}", "invalid_client"
            ) from None
        body = answer.body if isinstance(answer.body, dict) else {}
        token, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not isinstance(lifetime, int | float) or lifetime <= 0:
            raise AuthError(
                "the token endpoint answered without access_token and expires_in", "invalid_grant"
            )
        now = self._now()
        self._token = token
        self.expires_at = now + float(lifetime)
        self.renew_at = now + float(lifetime) - min(300.0, float(lifetime) / 10)
