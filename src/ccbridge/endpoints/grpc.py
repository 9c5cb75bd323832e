"""gRPC delivery: one `EventConsumer.Consume` call per attempt (contract: proto/ccbridge/v1/consumer.proto).

Status codes become outcomes as the proto documents for consumers:

- OK and ALREADY_EXISTS -> `Delivered` (ALREADY_EXISTS is a de-duplicating consumer saying it has the id).
- UNAVAILABLE (including connection refused and TLS failures), RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED,
  ABORTED, INTERNAL -> `Retry`. So are UNKNOWN (an unhandled exception in the consumer, usually a
  passing fault) and CANCELLED (the consumer or a proxy dropped the call, e.g. while restarting).
- INVALID_ARGUMENT, FAILED_PRECONDITION, PERMISSION_DENIED, UNAUTHENTICATED, NOT_FOUND, UNIMPLEMENTED (no
  EventConsumer at that address), OUT_OF_RANGE, DATA_LOSS -> `Failed`; so is RESOURCE_EXHAUSTED for a
  message over the consumer's size limit, since the same payload can never fit.

Reasons read "gRPC <CODE>: <detail>"; `status` stays None because elsewhere it holds an HTTP status.
A `retry-after` trailing metadata entry (seconds) on a retried status becomes `Retry.after`.

Addresses go through the same `NetworkPolicy` as webhooks: a host resolving to a refused address is
`Failed` (naming the address and the config key), one that does not resolve is `Retry`. The channel
dials the addresses the policy checked, not the name, so DNS cannot hand gRPC another address
between the check and the connect; TLS still verifies the certificate against the URL's host.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import grpc
import grpc.aio

from ccbridge.core.event import Delivered, Failed, Outcome, Retry
from ccbridge.core.ports import Attempt
from ccbridge.core.redact import mask_url
from ccbridge.core.urls import grpc_target
from ccbridge.endpoints.grpc_gen import consumer_pb2, consumer_pb2_grpc
from ccbridge.endpoints.netguard import NetworkPolicy, allowed_addresses
from ccbridge.errors import ConfigError

_S = grpc.StatusCode
DELIVERED_CODES = frozenset({_S.OK, _S.ALREADY_EXISTS})
RETRY_CODES = frozenset(
    {
        _S.UNAVAILABLE,
        _S.RESOURCE_EXHAUSTED,
        _S.DEADLINE_EXCEEDED,
        _S.ABORTED,
        _S.INTERNAL,
        _S.UNKNOWN,
        _S.CANCELLED,
    }
)
"""Every code in neither set is permanent."""

# Reconnect quickly after a consumer comes back: gRPC's default backoff grows to 120 s, longer than
# the dispatcher's own early retries, which would then all fail fast with UNAVAILABLE.
DEFAULT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 1000),
    ("grpc.max_reconnect_backoff_ms", 10_000),
)
_RESERVED_HEADERS = frozenset(
    [
        "content-type",
        "content-length",
        "user-agent",
        "host",
        "te",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
    ]
)
_METADATA_KEY = re.compile(r"[0-9a-z_.\-]+\Z")
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*\Z")
_DETAIL_LIMIT = 200

ChannelKey = tuple[str, str]
"""(scheme, host:port): one channel, hence one HTTP/2 connection, per key."""

Channel = tuple[tuple[str, ...], grpc.aio.Channel, Callable[..., Any]]
"""The addresses a channel dials, the channel, and its Consume method."""


class GrpcEndpoint:
    """The `Endpoint` for `grpc://host:port` (plaintext) and `grpcs://host:port` (TLS) URLs.

    Channels are created on first use and shared by every later send to the same address; `send` is
    safe to call concurrently from tasks of one event loop (channel creation never awaits, so two
    first sends cannot both create one). TLS verifies against `ca_file` (PEM) when given, otherwise
    the system roots. `options` are extra gRPC channel arguments, overriding `DEFAULT_OPTIONS`.
    """

    def __init__(
        self,
        policy: NetworkPolicy,
        ca_file: str | None = None,
        *,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self._policy = policy
        self._root_certificates = _read_ca(ca_file) if ca_file else None
        self._options = tuple({**dict(DEFAULT_OPTIONS), **dict(options)}.items())
        self._credentials: grpc.ChannelCredentials | None = None
        self._channels: dict[ChannelKey, Channel] = {}
        self._closed = False

    async def send(self, attempt: Attempt) -> Outcome:
        """One Consume call with deadline `attempt.timeout`; never raises for a delivery problem.

        After `aclose` it answers Retry, so a send racing shutdown is re-queued rather than lost.
        """
        if self._closed:
            return Retry("gRPC endpoint closed")
        try:
            key = parse_url(attempt.job.endpoint.url)
        except ValueError as exc:
            return Failed(f"bad gRPC endpoint URL {mask_url(attempt.job.endpoint.url)!r}: {exc}")
        host, port = _host_port(key[1])
        addresses = await allowed_addresses(self._policy, host, port)
        if not isinstance(addresses, list):
            return addresses
        consume = await self._consume(key, addresses)
        try:
            await consume(
                event_message(attempt), timeout=attempt.timeout, metadata=request_metadata(attempt.headers)
            )
        except grpc.aio.AioRpcError as exc:
            return classify(exc.code(), exc.details(), exc.trailing_metadata())
        except grpc.aio.UsageError:
            return Retry("gRPC endpoint closed")
        return Delivered()

    async def aclose(self) -> None:
        """Close every channel; calls still in flight end as CANCELLED (hence Retry)."""
        self._closed = True
        channels, self._channels = self._channels, {}
        for _, channel, _ in channels.values():
            await channel.close()

    async def _consume(self, key: ChannelKey, addresses: Sequence[str]) -> Callable[..., Any]:
        """The Consume method of `key`'s channel to `addresses`; a channel whose host now resolves to
        other addresses is replaced (and closed), so it never dials an address the policy did not check."""
        dialed = tuple(addresses)
        entry = self._channels.get(key)
        if entry is not None and entry[0] == dialed:
            return entry[2]
        scheme, authority = key
        host = _host_port(authority)[0]
        target = dial_target(dialed, _host_port(authority)[1])
        options = [*self._options, ("grpc.default_authority", authority)]
        if scheme == "grpcs":
            if not _is_ip(host):
                options.append(("grpc.ssl_target_name_override", host))
            channel = grpc.aio.secure_channel(target, self._tls(), options=options)
        else:
            channel = grpc.aio.insecure_channel(target, options=options)
        stub = consumer_pb2_grpc.EventConsumerStub(channel)  # type: ignore[no-untyped-call]  # generated
        consume: Callable[..., Any] = stub.Consume
        self._channels[key] = (dialed, channel, consume)
        if entry is not None:
            await entry[1].close(grace=None)
        return consume

    def _tls(self) -> grpc.ChannelCredentials:
        if self._credentials is None:
            self._credentials = grpc.ssl_channel_credentials(root_certificates=self._root_certificates)
        return self._credentials


def parse_url(url: str) -> ChannelKey:
    """`grpc://host:port` or `grpcs://host[:port]` -> (scheme, gRPC target); ValueError says what is wrong."""
    return grpc_target(url)


def dial_target(addresses: Sequence[str], port: int) -> str:
    """A gRPC target naming IP addresses (`ipv4:10.0.0.1:443,10.0.0.2:443`), so the channel does no DNS.

    One target holds one address family: the first address's family is dialed, the others left out.
    """
    family = "ipv6" if ":" in addresses[0] else "ipv4"
    chosen = [a for a in addresses if (":" in a) == (family == "ipv6")]
    return family + ":" + ",".join(f"[{a}]:{port}" if family == "ipv6" else f"{a}:{port}" for a in chosen)


def _host_port(authority: str) -> tuple[str, int]:
    host, _, port = authority.rpartition(":")
    return host.strip("[]"), int(port)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def event_message(attempt: Attempt) -> consumer_pb2.Event:
    """The Event message for one attempt; `payload` is `attempt.body` byte for byte."""
    job = attempt.job
    event = job.event
    source = event.source if isinstance(event.source, str) else json.dumps(event.source, ensure_ascii=False)
    return consumer_pb2.Event(
        id=event.id,
        type=event.type,
        source=source,
        time=event.time,
        correlation_id=event.correlation_id,
        attempt=job.attempt,
        subscription_id=job.subscription_id,
        payload=attempt.body,
    )


def request_metadata(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The delivery's headers as gRPC metadata: keys lower-cased; names gRPC reserves or cannot carry
    as text (non-ASCII values, `-bin` keys) are left out rather than failing the call."""
    pairs = []
    for name, value in headers.items():
        key = name.lower()
        if key in _RESERVED_HEADERS or key.startswith(("grpc-", ":")) or key.endswith("-bin"):
            continue
        if _METADATA_KEY.match(key) and _METADATA_VALUE.match(value):
            pairs.append((key, value))
    return tuple(pairs)


def classify(code: grpc.StatusCode, details: str | None, trailing: Iterable[Any] | None = None) -> Outcome:
    """The outcome of a call that ended with `code` (see the module docstring for the table)."""
    if code in DELIVERED_CODES:
        return Delivered()
    detail = " ".join((details or "").split())[:_DETAIL_LIMIT]
    reason = f"gRPC {code.name}: {detail}" if detail else f"gRPC {code.name}"
    if code is _S.RESOURCE_EXHAUSTED and "larger than max" in detail:
        return Failed(reason)
    if code in RETRY_CODES:
        return Retry(reason, after=_retry_after(trailing or ()))
    return Failed(reason)


def _retry_after(trailing: Iterable[Any]) -> float | None:
    for key, value in trailing:
        if key == "retry-after":
            try:
                seconds = float(value.decode() if isinstance(value, bytes) else value)
            except (ValueError, UnicodeDecodeError):
                return None
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


def _read_ca(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise ConfigError("ca_file", f"cannot read CA file {path!r}: {exc.strerror}") from exc
