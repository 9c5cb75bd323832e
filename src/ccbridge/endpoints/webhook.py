"""The webhook transport: one signed POST per attempt, every result mapped to an Outcome.

Built on aiohttp rather than httpx: for many concurrent POSTs to few hosts aiohttp's throughput
holds as concurrency grows and httpx's falls (`bench/bench_http_clients.py` prints both).

Classification (what is retried is decided here, once):
  2xx                                         -> Delivered(status)
  408, 425, 429, 5xx                          -> Retry("HTTP 503", status, after=Retry-After as a floor)
  timeouts, refused/reset connections, DNS   -> Retry(short reason)
  any other status (3xx, 4xx)                 -> Failed("HTTP 404", status); redirects are not followed
  an address refused by the NetworkPolicy     -> Failed("address 10.0.0.5 is private; ...")
Every outcome also carries its `error_class` and the first 4 KB of the answer (`body`), for the attempt record.
Reasons are short and never contain a header value, a secret or the body.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Mapping
from dataclasses import replace

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict
from yarl import URL

from ccbridge import __version__
from ccbridge.core.event import RESPONSE_EXCERPT_BYTES, Delivered, Failed, Outcome, Retry, response_excerpt
from ccbridge.core.ports import Attempt
from ccbridge.core.retry import parse_retry_after
from ccbridge.endpoints.netguard import NetworkPolicy
from ccbridge.errors import Permanent, Retryable

USER_AGENT = f"ccbridge/{__version__}"
RETRY_STATUSES = frozenset({408, 425, 429})
_DRAIN_LIMIT = 64 * 1024  # read small answers fully so the connection can be reused


def classify_status(status: int, headers: Mapping[str, str], now: float) -> Outcome:
    """The Outcome of an HTTP answer; `headers` is read for Retry-After only."""
    if 200 <= status < 300:
        return Delivered(status)
    if status in RETRY_STATUSES or status >= 500:
        after = parse_retry_after(headers.get("Retry-After"), now)
        return Retry(f"HTTP {status}", status, after, error_class="http_status")
    if 300 <= status < 400:
        return Failed(f"HTTP {status} (redirects are not followed)", status, error_class="http_status")
    return Failed(f"HTTP {status}", status, error_class="http_status")


class _GuardedResolver(AbstractResolver):
    """Lets the connector connect only to addresses the policy has checked (no DNS-rebinding gap)."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results: list[ResolveResult] = []
        for address in await self._policy.check(host, port):
            fam = socket.AF_INET6 if ":" in address else socket.AF_INET
            if family in (socket.AF_UNSPEC, fam):
                results.append(
                    ResolveResult(
                        hostname=host,
                        host=address,
                        port=port,
                        family=fam,
                        proto=0,
                        flags=socket.AI_NUMERICHOST,
                    )
                )
        if not results:
            raise OSError(f"no address of {host} in the requested family")
        return results

    async def close(self) -> None:
        return None


class WebhookEndpoint:
    """The `Endpoint` for `type: webhook`. Construct one per process: it owns the connection pool.

    `limit` caps open connections overall and `limit_per_host` per receiver, so one slow receiver cannot
    take every connection. Cookies are never kept and proxies from the environment are ignored (a proxy
    would bypass the network policy). `send` is safe to call concurrently and never raises for a
    delivery problem; `aclose` closes the pool.
    """

    def __init__(self, policy: NetworkPolicy, limit: int = 1000, limit_per_host: int = 100) -> None:
        self._policy = policy
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # created lazily: an aiohttp session must be born inside the running loop
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                limit_per_host=self._limit_per_host,
                resolver=_GuardedResolver(self._policy),
                use_dns_cache=False,  # the policy caches; a second cache would outlive its checks
            )
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
            )
        return self._session

    async def send(self, attempt: Attempt) -> Outcome:
        """POSTs `attempt.body` to the job's URL with `attempt.headers`, within `attempt.timeout` seconds.

        Content-Type (application/json) and User-Agent are defaults that `attempt.headers` may override.
        The timeout covers the whole call: resolving, waiting for a pooled connection, connecting, the
        answer.
        """
        try:
            url = URL(attempt.job.endpoint.url)
        except (ValueError, TypeError):
            return Failed("invalid URL")
        if url.scheme not in ("http", "https") or not url.host:
            return Failed("unsupported URL (http or https with a host)")
        headers: CIMultiDict[str] = CIMultiDict(
            {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        )
        headers.update(attempt.headers)
        try:
            budget = attempt.timeout
            if self._policy.checked(url.host, url.port) is None:  # not checked lately: resolve, bounded
                started = time.monotonic()
                async with asyncio.timeout(budget):
                    await self._policy.check(url.host, url.port)
                budget -= time.monotonic() - started
            return await self._post(url, attempt.body, headers, aiohttp.ClientTimeout(total=budget))
        except Permanent as exc:
            return Failed(str(exc), error_class="address_refused")
        except Retryable as exc:
            return Retry(str(exc), after=exc.retry_after, error_class="address_unavailable")
        except TimeoutError:
            return Retry(f"timeout after {attempt.timeout:.1f}s", error_class="timeout")
        except aiohttp.ClientError as exc:
            return replace(_client_error(exc), error_class=_error_class(exc))
        except ValueError:  # aiohttp refuses header values with control characters (injection)
            return Failed("invalid request headers", error_class="invalid_request")

    async def _post(
        self, url: URL, body: bytes, headers: CIMultiDict[str], deadline: aiohttp.ClientTimeout
    ) -> Outcome:
        async with self._client().post(
            url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=deadline,
        ) as response:
            if response.content_length is not None and response.content_length <= _DRAIN_LIMIT:
                raw = await response.read()
            else:  # the start of a large or streamed answer, for the attempt record
                raw = await _excerpt(response.content)
            outcome = classify_status(response.status, response.headers, time.time())
            return replace(outcome, body=response_excerpt(raw)) if raw else outcome

    async def aclose(self) -> None:
        """Closes the pool; a later `send` opens a new one."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _client_error(exc: aiohttp.ClientError) -> Retry | Failed:
    """Maps aiohttp's exceptions to short reasons; all are transient but a malformed URL."""
    if isinstance(exc, aiohttp.InvalidURL):
        return Failed("invalid URL")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return Retry("cannot resolve host")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return Retry("TLS error")
    if isinstance(exc, aiohttp.ClientConnectorError):
        refused = exc.os_error.errno == errno.ECONNREFUSED or isinstance(exc.os_error, ConnectionRefusedError)
        return Retry("connection refused" if refused else "connection failed")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Retry("server disconnected")
    if isinstance(exc, aiohttp.ClientOSError):
        return Retry("connection reset" if exc.errno == errno.ECONNRESET else "connection error")
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return Retry("invalid HTTP response")
    return Retry("connection error")


def _error_class(exc: aiohttp.ClientError) -> str:
    """The attempt record's kind of failure for an aiohttp exception (as `_client_error` reads it)."""
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid_url"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "tls"
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return "invalid_response"
    return "connection"


async def _excerpt(content: aiohttp.StreamReader) -> bytes:
    """Up to `RESPONSE_EXCERPT_BYTES` of a body, however it arrives in chunks (less at its end)."""
    chunks: list[bytes] = []
    size = 0
    while size < RESPONSE_EXCERPT_BYTES:
        chunk = await content.read(RESPONSE_EXCERPT_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
