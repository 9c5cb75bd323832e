"""One CXone tenant's credentials: the access token and the tenant's API endpoint, shared by the
agent event source and the Signal endpoint (one instance per `connectors.cxone` entry).

The protocol (NICE's CXone authentication guide; the official samples do the same):
  * token: `POST {auth_url}/auth/token`, form `grant_type=password&username=<access key id>&
    password=<access key secret>`, the registered application's client id and secret as HTTP Basic.
    The answer carries `access_token`, `expires_in` (seconds) and an `id_token` (a JWT).
  * discovery: `GET {auth_url}/.well-known/cxone-configuration?tenantId=<id>`, where the tenant id is
    the `tenantId` claim of the id token (read without verifying the signature: it arrived over the
    TLS connection to the issuer itself); the answer's `api_endpoint` is the base of every API call.
    `api_url` in the config replaces the discovered endpoint (a proxy, a test).

Contract: `access_token` answers a token valid for at least `refresh_margin` more seconds (renewing
before expiry, never after it); concurrent callers share one renewal. `renew(stale)` replaces the
token after a 401, once per stale token however many callers saw the 401. Failures are ccbridge
errors: `AuthError` when the platform refuses the credentials (400/401/403 from the token endpoint),
`Retryable` for what may pass (429, 5xx, timeouts, connection failures). No secret (key secret,
client secret, token) appears in an error or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from ccbridge.config.connectors import CxoneConnectorConfig
from ccbridge.core.ports import Clock
from ccbridge.core.retry import parse_retry_after
from ccbridge.core.times import SystemClock
from ccbridge.errors import AuthError, Retryable, Unavailable

TOKEN_PATH = "/auth/token"
DISCOVERY_PATH = "/.well-known/cxone-configuration"


@dataclass(frozen=True, slots=True)
class Token:
    """An access token, when it expires and when it is renewed (epoch seconds, by the injected clock)."""

    value: str
    expires_at: float
    renew_at: float
    tenant_id: str | None


class CxoneAuth:
    """The token cache and discovered API endpoint of one configured tenant.

    It owns one aiohttp session (created on first use, inside the running loop) that the agent
    source and the Signal endpoint also send their API calls through; `aclose` closes it and a
    later call opens a new one.
    """

    def __init__(
        self,
        config: CxoneConnectorConfig,
        clock: Clock | None = None,
        *,
        refresh_margin: float = 60.0,
        timeout: float = 10.0,
    ) -> None:
        self.config = config
        self._clock = clock or SystemClock()
        self._margin = refresh_margin
        self._timeout = timeout
        self._token: Token | None = None
        self._api: str | None = config.api_url.rstrip("/") if config.api_url else None
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self.tokens_issued = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def token_expires_at(self) -> float | None:
        return self._token.expires_at if self._token else None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(trust_env=False, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def access_token(self) -> str:
        """A token valid for at least `refresh_margin` more seconds (or most of its life when it is short)."""
        token = self._token
        if token is not None and not self._due(token):
            return token.value
        async with self._lock:
            if self._token is None or self._due(self._token):
                self._token = await self._fetch()
            return self._token.value

    async def renew(self, stale: str) -> str:
        """A new token after `stale` was refused (401); the current one when another caller renewed it."""
        async with self._lock:
            if self._token is None or self._token.value == stale:
                self._token = await self._fetch()
            return self._token.value

    async def api_endpoint(self) -> str:
        """The tenant's API base URL (no trailing slash): `api_url`, or discovered once and kept."""
        if self._api is not None:
            return self._api
        await self.access_token()
        async with self._lock:
            if self._api is None:
                tenant = self._token.tenant_id if self._token else None
                if not tenant:
                    raise AuthError("the CXone id token names no tenantId: set api_url for this connector")
                self._api = await self._discover(tenant)
            return self._api

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _due(self, token: Token) -> bool:
        return self._clock.now() >= token.renew_at

    async def _fetch(self) -> Token:
        form = {
            "grant_type": "password",
            "username": self.config.access_key_id,
            "password": self.config.access_key_secret.get_secret_value(),
        }
        pair = f"{self.config.client_id}:{self.config.client_secret.get_secret_value()}"
        basic = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}
        url = self.config.auth_url.rstrip("/") + TOKEN_PATH
        status, body, retry_after = await self._exchange("POST", url, data=form, headers=basic)
        if status in (400, 401, 403):
            raise AuthError(
                f"the CXone token endpoint refused the access key (HTTP {status})", "invalid_grant"
            )
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise Unavailable(f"the CXone token endpoint answered HTTP {status}", retry_after)
        lifetime = _seconds(body.get("expires_in"), 3600.0)
        self.tokens_issued += 1
        now = self._clock.now()
        # a lifetime shorter than twice the margin would be renewed at once: renew at half of it instead
        early = self._margin if lifetime > 2 * self._margin else lifetime / 2
        return Token(body["access_token"], now + lifetime, now + lifetime - early, _tenant_id(body))

    async def _discover(self, tenant: str) -> str:
        url = self.config.auth_url.rstrip("/") + DISCOVERY_PATH
        status, body, retry_after = await self._exchange("GET", url, params={"tenantId": tenant})
        endpoint = body.get("api_endpoint") if isinstance(body, dict) else None
        if status != 200 or not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
            raise Unavailable(f"CXone discovery answered HTTP {status} without an api_endpoint", retry_after)
        return endpoint.rstrip("/")

    async def _exchange(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any, float | None]:
        try:
            async with self.session().request(
                method,
                url,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                allow_redirects=False,
                **kwargs,
            ) as response:
                body = await response.json(content_type=None) if response.status == 200 else None
                retry_after = parse_retry_after(response.headers.get("Retry-After"), time.time())
                return response.status, body, retry_after
        except TimeoutError:
            raise Retryable("CXone authentication timed out") from None
        except aiohttp.ClientError as exc:
            raise Retryable(f"CXone authentication failed: {type(exc).__name__}") from None
        except ValueError:  # a 200 whose body is not JSON
            raise Unavailable("CXone answered a body that is not JSON") from None


def _seconds(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return default
    return float(value)


def _tenant_id(body: dict[str, Any]) -> str | None:
    """The `tenantId` claim of the id token (or, failing that, of the access token when it is a JWT)."""
    for key in ("id_token", "access_token"):
        raw = body.get(key)
        if not isinstance(raw, str):
            continue
        try:
            claims = jwt.decode(raw, options={"verify_signature": False})
        except jwt.PyJWTError:
            continue
        tenant = claims.get("tenantId")
        if isinstance(tenant, str) and tenant:
            return tenant
    return None
