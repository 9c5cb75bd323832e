"""NATS delivery: `nats://[user:pass@]host[:4222]/subject` (plaintext) or `tls://...` (TLS).

When a JetStream stream covers the subject, each attempt is an acknowledged JetStream publish with
`Nats-Msg-Id` = the event id, so the stream's duplicate window drops a redelivery of a message it
already stored (a retry after a lost ack, a replay inside the window): "delivered" means stored in
the stream. Otherwise the message is published on core NATS and the connection flushed: "delivered"
then only means the server took it (core NATS keeps nothing; a subject nobody listens on drops it).
Which of the two a subject gets is looked up once and remembered for `STREAM_CACHE_SECONDS`.

Outcomes:
- a refused address (`NetworkPolicy`), a bad URL, a message over the server's max payload, wrong
  credentials, a JetStream error the stream will keep giving (e.g. a subject it no longer covers)
  -> `Failed`;
- no connection (refused, timeout, TLS handshake), a connection lost mid-publish, no ack in time, a
  stream that is full or unavailable (JetStream 503 / limits) -> `Retry`.
Reasons never contain credentials. Credentials come from the URL (`user:pass@`, or a lone `token@`).

Connections are cached per server and credentials and dial the address the policy checked (TLS
still verifies the certificate against the URL's host). They never reconnect on their own: a
reconnecting client would buffer publishes and call them sent; a broken connection is dropped and
the next send opens a new one.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client

from ccbridge.core.event import Delivered, Failed, Outcome, Retry
from ccbridge.core.ports import Attempt
from ccbridge.core.redact import mask_url
from ccbridge.endpoints.broker import Connections, message_headers, message_id
from ccbridge.endpoints.netguard import NetworkPolicy, allowed_addresses

DEFAULT_PORT = 4222
STREAM_CACHE_SECONDS = 30.0
_RETRY_API_CODES = frozenset({408, 429, 503})
_RETRY_ERR_CODES = frozenset({10077, 10047})  # maximum messages / bytes exceeded (discard: new)


@dataclass(frozen=True, slots=True)
class NatsTarget:
    """A parsed NATS endpoint URL; `user`/`password`/`token` are the URL's credentials."""

    tls: bool
    host: str
    port: int
    subject: str
    user: str | None = None
    password: str | None = None
    token: str | None = None


def parse_url(url: str) -> NatsTarget:
    """`nats://` or `tls://` with a host and a subject path; ValueError says what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("nats", "tls"):
        raise ValueError("the scheme must be nats:// or tls://")
    if not parts.hostname:
        raise ValueError("no host")
    port = parts.port or DEFAULT_PORT  # .port raises ValueError when out of range
    subject = unquote(parts.path.lstrip("/"))
    if not subject:
        raise ValueError("no subject (nats://host:port/subject)")
    if parts.query or parts.fragment:
        raise ValueError("a query or fragment is not understood")
    if any(c in subject for c in " \t\r\n*>") or "" in subject.split("."):
        raise ValueError("the subject must be dot-separated tokens without spaces or wildcards")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if user is not None and password is None:
        return NatsTarget(parts.scheme == "tls", parts.hostname, port, subject, token=user)
    return NatsTarget(parts.scheme == "tls", parts.hostname, port, subject, user, password)


ConnectionKey = tuple[bool, str, str, int, str | None, str | None, str | None]
"""(tls, URL host, dialed address, port, user, password, token)."""


class NatsEndpoint:
    """The NATS half of `type: queue`. `send` is safe to call concurrently and never raises for a
    delivery problem; `aclose` closes every connection (a later `send` answers Retry)."""

    def __init__(self, policy: NetworkPolicy, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._policy = policy
        self._ssl_context = ssl_context
        self._connections: Connections[ConnectionKey, Client] = Connections(
            lambda nc: bool(nc.is_connected), _close
        )
        self._streams: dict[tuple[ConnectionKey, str], tuple[float, str | None]] = {}
        self._closed = False

    async def send(self, attempt: Attempt) -> Outcome:
        if self._closed:
            return Retry("NATS endpoint closed")
        url = attempt.job.endpoint.url
        try:
            target = parse_url(url)
        except ValueError as exc:
            return Failed(f"bad NATS endpoint URL {mask_url(url)!r}: {exc}")
        addresses = await allowed_addresses(self._policy, target.host, target.port)
        if not isinstance(addresses, list):
            return addresses
        key: ConnectionKey = (
            target.tls,
            target.host,
            addresses[0],
            target.port,
            target.user,
            target.password,
            target.token,
        )
        try:
            async with asyncio.timeout(attempt.timeout):
                nc = await self._connections.get(
                    key, lambda: self._connect(target, addresses[0], attempt.timeout)
                )
                return await self._publish(nc, key, target.subject, attempt)
        except TimeoutError:  # a slow ack says nothing about the connection; a closed one is replaced
            return Retry(f"NATS: no answer within {attempt.timeout:.1f}s")
        except nats.errors.MaxPayloadError:
            return Failed("NATS: the message is larger than the server's max payload")
        except nats.errors.AuthorizationError:
            await self._connections.drop(key)
            return Failed("NATS: authorization refused")
        except nats.js.errors.APIError as exc:
            return _api_error(exc)
        except nats.errors.NoRespondersError:
            self._streams.pop((key, target.subject), None)  # the stream went away: look again next time
            return Retry("NATS JetStream: no responders (the stream is unavailable)")
        except (nats.errors.Error, OSError, ssl.SSLError) as exc:
            await self._connections.drop(key)
            return Retry(f"NATS: {_describe(exc)}")

    async def _publish(self, nc: Client, key: ConnectionKey, subject: str, attempt: Attempt) -> Outcome:
        headers = message_headers(attempt)
        stream = await self._stream_for(nc, key, subject)
        if stream is None:
            await nc.publish(subject, attempt.body, headers=headers)
            await nc.flush(timeout=max(1, math.ceil(attempt.timeout)))  # within the send's own deadline
            return Delivered()
        headers["Nats-Msg-Id"] = message_id(attempt)
        await nc.jetstream().publish(
            subject, attempt.body, timeout=max(attempt.timeout, 0.001), stream=stream, headers=headers
        )
        return Delivered()

    async def _stream_for(self, nc: Client, key: ConnectionKey, subject: str) -> str | None:
        """The stream covering `subject`, or None when none does (plain publish)."""
        now = time.monotonic()
        cached = self._streams.get((key, subject))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            stream: str | None = await nc.jetstream().find_stream_name_by_subject(subject)
        except nats.js.errors.NotFoundError:
            stream = None
        except nats.errors.NoRespondersError:  # no JetStream on this server
            stream = None
        if len(self._streams) > 4096:
            self._streams.clear()
        self._streams[(key, subject)] = (now + STREAM_CACHE_SECONDS, stream)
        return stream

    async def _connect(self, target: NatsTarget, address: str, connect_seconds: float) -> Client:
        host = f"[{address}]" if ":" in address else address
        options: dict[str, Any] = {}
        if target.tls:
            options["tls"] = self._ssl_context or ssl.create_default_context()
            options["tls_hostname"] = target.host
        if target.user is not None:
            options["user"] = target.user
            options["password"] = target.password
        if target.token is not None:
            options["token"] = target.token
        nc = Client()
        await nc.connect(
            servers=[f"{'tls' if target.tls else 'nats'}://{host}:{target.port}"],
            name="ccbridge",
            allow_reconnect=False,
            max_reconnect_attempts=0,
            connect_timeout=max(1, math.ceil(connect_seconds)),
            error_cb=_ignore,
            disconnected_cb=_ignore_event,
            closed_cb=_ignore_event,
            **options,
        )
        return nc

    async def aclose(self) -> None:
        self._closed = True
        await self._connections.aclose()


def _api_error(exc: nats.js.errors.APIError) -> Outcome:
    reason = f"NATS JetStream {exc.code or ''} {exc.err_code or ''}: {exc.description or ''}"
    reason = " ".join(reason.split())[:200]
    if (exc.code in _RETRY_API_CODES) or (exc.err_code in _RETRY_ERR_CODES):
        return Retry(reason)
    return Failed(reason)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, nats.errors.NoServersError | ConnectionRefusedError):
        return "cannot connect to the server"
    if isinstance(exc, ssl.SSLError | nats.errors.SecureConnFailedError):
        return "TLS error"
    if isinstance(exc, nats.errors.ConnectionClosedError):
        return "connection closed"
    if isinstance(exc, nats.errors.StaleConnectionError):
        return "stale connection"
    return type(exc).__name__


async def _close(nc: Client) -> None:
    await nc.close()


async def _ignore(exc: Exception) -> None:
    """nats-py logs every connection error by default; a failed send is reported as its outcome."""


async def _ignore_event() -> None:
    return None
