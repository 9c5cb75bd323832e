"""`GenesysConnector`: one org's notification topics, kept subscribed, read into ccbridge.

The configured topics (templates expanded) are split into groups of at most `topics_per_channel`;
each group keeps one subscribed channel (`channel.py`). A group opens a new channel and subscribes
it *before* closing the old one whenever the old one is about to stop serving: the service warned
it will close the socket (`v2.system.socket_closing`), the token it was created with reaches its
renewal point (Genesys closes a channel whose token expired), or re-subscribing it before its
24 h expiry failed. When the socket dropped or went silent (no heartbeat for
`heartbeat_timeout_seconds`) the group opens a new one at once and then with exponential backoff
(`backoff`, doubled up to its maximum); the window from the dead socket's last sign of life to the
new subscription is stored as a `ccbridge.connector.gap` event. Re-subscription (`PUT` of the same
topics, which extends the channel's life) happens `resubscribe_before_expiry_seconds` before it
expires. Messages read on two overlapping channels are stored once (the sink is idempotent by
platform id).

`status()` also reports `coveredSince` / `coveredUntil` (epoch seconds): since when every topic has
been subscribed without a break, and the latest instant at which all were (the runner uses them to
report the gap between two holders of the lease).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog

from ccbridge.config.connectors import GenesysConnectorConfig
from ccbridge.connectors.base import EventSink
from ccbridge.connectors.genesys import messages
from ccbridge.connectors.genesys.auth import ClientCredentials
from ccbridge.connectors.genesys.channel import Channel, open_channel, read, subscribe
from ccbridge.connectors.genesys.http import GenesysHttp, Sleep
from ccbridge.connectors.genesys.regions import hosts
from ccbridge.connectors.genesys.topics import Topic, expand, split, typed
from ccbridge.core.times import iso, iso_or_none
from ccbridge.errors import AuthError, BridgeError, Retryable

log = structlog.get_logger("ccbridge.connectors.genesys")
DEADLINE = "deadline"


@dataclass
class _Group:
    """One topic group's live state."""

    topics: list[Topic]
    current: Channel | None = None
    down_since: float | None = None
    backing_off: bool = False


class GenesysConnector:
    """The `Connector` of one `connectors.genesys[i]` entry (`path` names it in errors). `now` is the
    wall clock (epoch seconds) of gaps and status; `backoff` is (first, maximum) seconds."""

    kind = "genesys"

    def __init__(
        self,
        config: GenesysConnectorConfig,
        path: str = "connectors.genesys[0]",
        *,
        now: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.config = config
        self.name = config.name
        self.api_url, self.login_url = hosts(config, path)
        topics = expand(config)
        self.groups = [_Group(g) for g in split(topics, config.topics_per_channel, config.max_channels, path)]
        self._types = {t.name: t for t in topics}
        self._now = now
        self._sleep = sleep
        self._backoff = backoff
        self._auth: ClientCredentials | None = None
        self._running = False
        self._stored = 0
        self._duplicates = 0
        self._gaps = 0
        self._last_gap: dict[str, Any] | None = None
        self._last_message_at: float | None = None
        self._last_error: str | None = None
        self._covered_until: float | None = None

    # --- status ----------------------------------------------------------------------------------

    def _coverage(self) -> tuple[float | None, float | None]:
        live = [g.current for g in self.groups if g.current is not None and g.current.state == "subscribed"]
        if len(live) < len(self.groups) or not live:
            return None, self._covered_until
        since = max(c.subscribed_at or 0.0 for c in live)
        self._covered_until = min(c.last_alive for c in live)
        return since, self._covered_until

    def status(self) -> dict[str, Any]:
        since, until = self._coverage()
        if not self._running:
            state = "stopped"
        elif since is not None:
            state = "connected"
        elif any(g.backing_off for g in self.groups):
            state = "backoff"
        else:
            state = "connecting"
        auth = self._auth
        return {
            "name": self.name,
            "kind": self.kind,
            "state": state,
            "connected": state == "connected",
            "apiUrl": self.api_url,
            "channels": [g.current.status() for g in self.groups if g.current is not None],
            "topics": sum(len(g.topics) for g in self.groups),
            "tokenExpiresAt": iso_or_none(auth.expires_at if auth is not None else None),
            "lastMessageAt": iso_or_none(self._last_message_at),
            "lastGap": self._last_gap,
            "lastError": self._last_error,
            "messages": self._stored,
            "duplicates": self._duplicates,
            "gaps": self._gaps,
            "coveredSince": since,
            "coveredUntil": until,
        }

    # --- running ---------------------------------------------------------------------------------

    async def run(self, sink: EventSink, stop: asyncio.Event) -> None:
        self._running = True
        try:
            async with aiohttp.ClientSession() as session:
                http = GenesysHttp(session, sleep=self._sleep)
                self._auth = ClientCredentials(
                    http,
                    self.login_url,
                    self.config.client_id,
                    self.config.client_secret.get_secret_value(),
                    self._now,
                )
                async with asyncio.TaskGroup() as tasks:
                    handler = self._handler(sink, stop)
                    for group in self.groups:
                        tasks.create_task(self._keep(group, session, http, self._auth, handler, stop))
        finally:
            self._running = False

    async def _keep(
        self,
        group: _Group,
        session: aiohttp.ClientSession,
        http: GenesysHttp,
        auth: ClientCredentials,
        handler: Handler,
        stop: asyncio.Event,
    ) -> None:
        """Keep `group` subscribed until `stop`; then close its channel and report an open gap."""
        events: asyncio.Queue[tuple[Channel, str]] = asyncio.Queue()
        need_new, wait = True, self._backoff[0]
        try:
            while not stop.is_set():
                if need_new:
                    if not await self._replace(group, session, http, auth, handler, events):
                        group.backing_off = True
                        await _pause(stop, wait)
                        wait = min(wait * 2, self._backoff[1])
                        continue
                    group.backing_off, need_new, wait = False, False, self._backoff[0]
                need_new = await self._watch(group, http, auth, events, stop)
        finally:  # the window until the next holder subscribes is the runner's to report, from the
            # last frame read and stored (what was still in flight is inside that gap)
            if group.current is not None:
                self._coverage()
                await group.current.close()
                group.current = None

    async def _replace(
        self,
        group: _Group,
        session: aiohttp.ClientSession,
        http: GenesysHttp,
        auth: ClientCredentials,
        handler: Handler,
        events: asyncio.Queue[tuple[Channel, str]],
    ) -> bool:
        """Open and subscribe a new channel, then close the old one; False (after logging) when it failed."""
        try:
            token = await auth.token()
            channel = await open_channel(
                http, session, self.api_url, token, auth.renew_at, group.topics, events, self._now
            )
        except AuthError as exc:
            auth.invalidate()
            return self._failed(exc)
        except BridgeError as exc:
            return self._failed(exc)
        channel.reader = asyncio.get_running_loop().create_task(
            read(channel, self.config.heartbeat_timeout_seconds, handler, self._now)
        )
        old, group.current = group.current, channel
        if old is not None:
            await old.close()
        if group.down_since is not None:
            start, group.down_since = group.down_since, None
            await self._gap(handler.sink, group, start, channel.subscribed_at or self._now())
        self._last_error = None
        log.info(
            "genesys_channel_subscribed", connector=self.name, channel=channel.id, topics=len(group.topics)
        )
        return True

    def _failed(self, exc: BaseException) -> bool:
        self._last_error = str(exc)
        log.warning("genesys_channel_failed", connector=self.name, error=str(exc))
        return False

    async def _watch(
        self,
        group: _Group,
        http: GenesysHttp,
        auth: ClientCredentials,
        events: asyncio.Queue[tuple[Channel, str]],
        stop: asyncio.Event,
    ) -> bool:
        """Wait for what the current channel needs next; True when a new channel must be opened."""
        current = group.current
        assert current is not None
        margin = min(self.config.resubscribe_before_expiry_seconds, current.lifetime / 2)
        resubscribe_at = current.expires_at - margin
        deadline = min(resubscribe_at, current.token_renew_at)
        got = await _next(events, stop, deadline - self._now())
        if got is None:
            return False
        channel, what = got
        if what == DEADLINE:
            if self._now() >= current.token_renew_at:
                return True  # its token is about to expire: move to a channel made with a new one
            return not await self._resubscribe(http, auth, current)
        if channel is not current:
            return False  # a replaced channel's last word
        if what == "closing":
            return True
        group.down_since = current.last_alive  # dropped or dead: nothing is subscribed from then on
        self._covered_until = current.last_alive
        group.current = None
        await current.close()
        log.warning("genesys_channel_lost", connector=self.name, channel=current.id, why=what)
        return True

    async def _resubscribe(self, http: GenesysHttp, auth: ClientCredentials, channel: Channel) -> bool:
        try:
            await subscribe(http, self.api_url, await auth.token(), channel)
        except BridgeError as exc:
            return self._failed(exc)
        channel.expires_at = self._now() + channel.lifetime
        return True

    def _handler(self, sink: EventSink, stop: asyncio.Event) -> Handler:
        return Handler(self, sink, stop)

    async def _gap(self, sink: EventSink, group: _Group, start: float, end: float) -> None:
        """Store the gap, retrying while the store cannot take it (until the connector stops)."""
        names = [t.name for t in group.topics]
        wait = self._backoff[0]
        while True:
            try:
                await sink.gap(connector=self.name, topics=names, start=start, end=end)
                break
            except Retryable as exc:
                self._last_error = f"storing a gap: {exc}"
                await self._sleep(max(wait, exc.retry_after or 0.0))
                wait = min(wait * 2, self._backoff[1])
        self._gaps += 1
        self._last_gap = {"from": iso(start), "to": iso(end), "topics": len(names)}
        log.warning("genesys_gap", connector=self.name, start=iso(start), end=iso(end), topics=len(names))


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _next(
    events: asyncio.Queue[tuple[Channel, str]], stop: asyncio.Event, seconds: float
) -> tuple[Channel | None, str] | None:
    """The next channel event; (None, DEADLINE) when `seconds` passed first; None when `stop` is set."""
    getting = asyncio.ensure_future(events.get())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({getting, stopping}, timeout=max(0.0, seconds), return_when="FIRST_COMPLETED")
    stopping.cancel()
    if getting.done():
        return getting.result()
    getting.cancel()
    return None if stop.is_set() else (None, DEADLINE)


class Handler:
    """Stores each notification through the sink, retrying while the store cannot take it; False
    when it still cannot once `stop` is set (the message is then inside the gap the next holder
    reports, since the channel's cover ends before it)."""

    def __init__(self, connector: GenesysConnector, sink: EventSink, stop: asyncio.Event) -> None:
        self.connector = connector
        self.sink = sink
        self.stop = stop

    async def __call__(self, channel: Channel, message: messages.Notification) -> bool:
        c = self.connector
        topic = c._types.get(message.topic) or typed(message.topic)
        metadata = {"genesysTopic": message.topic, "genesysChannel": channel.id}
        if topic.ids:
            metadata["genesysIds"] = ",".join(topic.ids)
        if isinstance(correlation := message.metadata.get("CorrelationId"), str):
            metadata["genesysCorrelationId"] = correlation
        wait = c._backoff[0]
        while True:
            try:
                created = await self.sink.deliver(
                    connector=c.name,
                    event_type=topic.event_type,
                    data=message.body,
                    platform_id=message.platform_id,
                    metadata=metadata,
                )
                break
            except Retryable as exc:  # the store cannot take it now: keep it and try again
                c._last_error = f"storing a notification: {exc}"
                if self.stop.is_set():
                    log.warning("genesys_message_not_stored", connector=c.name, topic=message.topic)
                    return False
                await _pause(self.stop, max(wait, exc.retry_after or 0.0))
                wait = min(wait * 2, c._backoff[1])
        c._stored += created
        c._duplicates += not created
        c._last_message_at = c._now()
        return True
