"""RabbitMQ delivery: `amqp://user:pass@host[:5672]/vhost?exchange=X&routing_key=Y`.

Each attempt is one persistent message (delivery mode 2) published `mandatory` on a channel with
publisher confirms: "delivered" means the broker confirmed it, i.e. routed it to at least one queue
and, for durable queues, wrote it. `message_id` is the event id (stable across attempts, so consumers
de-duplicate redeliveries), `correlation_id` the event's, `type` the event type, `content_type`
application/json; the headers carry the same values plus the subscription's signed headers.

`exchange` defaults to the default exchange (""), where `routing_key` names a queue; `routing_key`
defaults to "". An empty vhost path (`amqp://host`) is RabbitMQ's "/"; `%2f` spells it too.

Outcomes:
- a refused address (`NetworkPolicy`), a bad URL, wrong credentials, an exchange that does not exist
  (404), a publish the broker refuses for good (403 access refused, 406 precondition failed)
  -> `Failed`;
- no connection (refused, timeout), a connection or channel lost mid-publish, a negative confirm
  (e.g. a queue's `reject-publish` overflow), a message returned unroutable (no queue bound yet:
  bindings change at run time, and the retry policy dead-letters it in the end), no confirm in time
  -> `Retry`.
Reasons never contain credentials.

Connections (one confirmed channel each) are cached per server, vhost and credentials, dial the
address the policy checked, and are replaced when closed (a channel-level error closes the channel).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import aio_pika
import aio_pika.abc
import aio_pika.exceptions as amqp_errors
import aiormq.exceptions
from pamqp import commands

from ccbridge.core.event import Delivered, Failed, Outcome, Retry
from ccbridge.core.ports import Attempt
from ccbridge.core.redact import mask_url
from ccbridge.endpoints.broker import Connections, message_headers, message_id
from ccbridge.endpoints.netguard import NetworkPolicy, allowed_addresses

DEFAULT_PORT = 5672
_QUERY_KEYS = frozenset({"exchange", "routing_key"})
_PERMANENT_CHANNEL_ERRORS = (
    aiormq.exceptions.ChannelNotFoundEntity,
    aiormq.exceptions.ChannelAccessRefused,
    aiormq.exceptions.ChannelPreconditionFailed,
)


@dataclass(frozen=True, slots=True)
class AmqpTarget:
    """A parsed AMQP endpoint URL."""

    host: str
    port: int
    vhost: str
    exchange: str
    routing_key: str
    user: str
    password: str


def parse_url(url: str) -> AmqpTarget:
    """`amqp://[user:pass@]host[:port][/vhost][?exchange=X&routing_key=Y]`; ValueError says what is
    wrong. Credentials default to RabbitMQ's guest/guest, as in every AMQP client."""
    parts = urlsplit(url)
    if parts.scheme != "amqp":
        raise ValueError("the scheme must be amqp://")
    if not parts.hostname:
        raise ValueError("no host")
    port = parts.port or DEFAULT_PORT
    if parts.fragment:
        raise ValueError("a fragment is not understood")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - _QUERY_KEYS)
    if unknown:
        raise ValueError(f"unknown query parameter {unknown[0]!r} (exchange, routing_key)")
    if any(len(values) > 1 for values in query.values()):
        raise ValueError("exchange and routing_key may each be given once")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if "/" in path:
        raise ValueError("the path is the vhost; spell a '/' in it as %2f")
    vhost = unquote(path) or "/"
    exchange = query.get("exchange", [""])[0]
    routing_key = query.get("routing_key", [""])[0]
    if not exchange and not routing_key:
        raise ValueError("name an exchange (?exchange=X) or a queue (?routing_key=Q on the default exchange)")
    user = unquote(parts.username) if parts.username else "guest"
    password = unquote(parts.password) if parts.password is not None else "guest"
    return AmqpTarget(parts.hostname, port, vhost, exchange, routing_key, user, password)


ConnectionKey = tuple[str, int, str, str, str]
"""(dialed address, port, vhost, user, password)."""
Channel = tuple[aio_pika.abc.AbstractConnection, aio_pika.abc.AbstractChannel]


class AmqpEndpoint:
    """The RabbitMQ half of `type: queue`. `send` is safe to call concurrently and never raises for a
    delivery problem; `aclose` closes every connection (a later `send` answers Retry)."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self._policy = policy
        self._connections: Connections[ConnectionKey, Channel] = Connections(_is_open, _close)
        self._closed = False

    async def send(self, attempt: Attempt) -> Outcome:
        if self._closed:
            return Retry("AMQP endpoint closed")
        url = attempt.job.endpoint.url
        try:
            target = parse_url(url)
        except ValueError as exc:
            return Failed(f"bad AMQP endpoint URL {mask_url(url)!r}: {exc}")
        addresses = await allowed_addresses(self._policy, target.host, target.port)
        if not isinstance(addresses, list):
            return addresses
        key: ConnectionKey = (addresses[0], target.port, target.vhost, target.user, target.password)
        try:
            async with asyncio.timeout(attempt.timeout):
                _, channel = await self._connections.get(key, lambda: _connect(key, attempt.timeout))
                return await _publish(channel, target, attempt)
        except TimeoutError:  # a slow confirm says nothing about the connection; a closed one is replaced
            return Retry(f"AMQP: no confirm within {attempt.timeout:.1f}s")
        except amqp_errors.DeliveryError as exc:
            return _refused(exc)
        except amqp_errors.ProbableAuthenticationError:
            return Failed("AMQP: authentication refused (check the user and password)")
        except aiormq.exceptions.ChannelClosed as exc:
            return _channel_closed(exc)
        except (amqp_errors.AMQPError, aiormq.exceptions.ChannelInvalidStateError, OSError) as exc:
            await self._connections.drop(key)
            return Retry(f"AMQP: {_describe(exc)}")

    async def aclose(self) -> None:
        self._closed = True
        await self._connections.aclose()


async def _connect(key: ConnectionKey, connect_seconds: float) -> Channel:
    address, port, vhost, user, password = key
    connection = await aio_pika.connect(
        host=address,
        port=port,
        login=user,
        password=password,
        virtualhost=vhost,
        timeout=connect_seconds,
        client_properties={"connection_name": "ccbridge"},
    )
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    except BaseException:
        await connection.close()
        raise
    return connection, channel


async def _publish(channel: aio_pika.abc.AbstractChannel, target: AmqpTarget, attempt: Attempt) -> Outcome:
    job = attempt.job
    message = aio_pika.Message(
        attempt.body,
        headers=dict(message_headers(attempt)),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id(attempt),
        correlation_id=job.event.correlation_id,
        type=job.event.type,
    )
    if target.exchange:
        exchange = await channel.get_exchange(target.exchange, ensure=False)
    else:
        exchange = channel.default_exchange
    await exchange.publish(message, target.routing_key, mandatory=True, timeout=attempt.timeout)
    return Delivered()


def _refused(exc: amqp_errors.DeliveryError) -> Outcome:
    frame = exc.frame
    if isinstance(frame, commands.Basic.Return):
        return Retry(f"AMQP: message returned unroutable ({frame.reply_code} {frame.reply_text})")
    return Retry("AMQP: the broker refused the message (negative confirm)")


def _channel_closed(exc: aiormq.exceptions.ChannelClosed) -> Outcome:
    """404 (no such exchange), 403 (access refused) and 406 (precondition failed) recur on every try."""
    detail = " ".join(" ".join(str(a) for a in exc.args if a is not None).split())[:200]
    reason = f"AMQP channel closed: {detail}" if detail else "AMQP channel closed"
    if isinstance(exc, _PERMANENT_CHANNEL_ERRORS):
        return Failed(reason)
    return Retry(reason)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, amqp_errors.AMQPConnectionError | OSError):
        return "cannot connect to the broker"
    return type(exc).__name__


def _is_open(entry: Channel) -> bool:
    connection, channel = entry
    return not connection.is_closed and not channel.is_closed


async def _close(entry: Channel) -> None:
    await entry[0].close()
