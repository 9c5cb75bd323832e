"""One notification channel: created, its WebSocket opened, its topics subscribed, read until closed.

Order of opening: create the channel (`POST /api/v2/notifications/channels` -> `{id, connectUri,
expires}`), connect its WebSocket, then subscribe (`PUT .../channels/{id}/subscriptions` with
`[{"id": topic}, ...]`), so nothing published after the subscription can arrive before the socket
reads. The reader task hands every notification to `on_notification` (which stores it, retrying
until it can, and answers False only when the connector stops first) and reports what ends the socket's usefulness to
`events`: `closing` (the service warned it will close the socket), `dropped` (the socket closed or
failed), `dead` (nothing, not even a heartbeat, for `heartbeat_timeout` seconds). `last_alive` moves only
once what arrived before it is stored, so a gap reported from it covers any message not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from ccbridge.connectors.genesys import messages
from ccbridge.connectors.genesys.http import GenesysHttp
from ccbridge.connectors.genesys.topics import Topic
from ccbridge.core.times import iso_or_none
from ccbridge.errors import Unavailable

CHANNELS = "/api/v2/notifications/channels"


def _epoch(value: Any, default: float) -> float:
    """An RFC 3339 `expires` as epoch seconds; `default` when it is missing or unreadable."""
    if not isinstance(value, str):
        return default
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return default


@dataclass
class Channel:
    """A created channel of one topic group. `events` is its group's queue of (channel, what)."""

    id: str
    connect_uri: str
    topics: list[Topic]
    expires_at: float
    token_renew_at: float
    events: asyncio.Queue[tuple[Channel, str]]
    ws: aiohttp.ClientWebSocketResponse | None = None
    state: str = "connecting"
    subscribed_at: float | None = None
    last_alive: float = 0.0
    last_message_at: float | None = None
    messages: int = 0
    reader: asyncio.Task[None] | None = field(default=None, repr=False)
    lifetime: float = 24 * 3600.0  # seconds a (re-)subscription keeps the channel, as first granted

    def status(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "topics": [t.name for t in self.topics],
            "expiresAt": iso_or_none(self.expires_at),
            "subscribedAt": iso_or_none(self.subscribed_at),
            "lastMessageAt": iso_or_none(self.last_message_at),
            "messages": self.messages,
        }

    async def close(self) -> None:
        """Close the socket and wait for the reader to hand on what it had already received."""
        self.state = "closed"
        if self.ws is not None:
            with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                await asyncio.wait_for(self.ws.close(), 5.0)
        if self.reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


async def open_channel(
    http: GenesysHttp,
    session: aiohttp.ClientSession,
    api_url: str,
    bearer: str,
    token_renew_at: float,
    topics: list[Topic],
    events: asyncio.Queue[tuple[Channel, str]],
    now: Callable[[], float],
) -> Channel:
    """Create, connect and subscribe a channel for `topics`; raises Unavailable, AuthError or Permanent
    (closing what it opened)."""
    headers = {"Authorization": f"Bearer {bearer}"}
    created = (await http.call("POST", api_url + CHANNELS, headers=headers)).body
    if not isinstance(created, dict) or not created.get("id") or not created.get("connectUri"):
        raise Unavailable("channel creation answered without id and connectUri", retry_after=1.0)
    channel = Channel(
        str(created["id"]),
        str(created["connectUri"]),
        topics,
        _epoch(created.get("expires"), now() + 24 * 3600),
        token_renew_at,
        events,
    )
    if channel.expires_at > now():
        channel.lifetime = channel.expires_at - now()
    try:
        channel.ws = await session.ws_connect(channel.connect_uri, heartbeat=None, autoping=True)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise Unavailable(f"the channel's WebSocket did not open: {type(exc).__name__}", 1.0) from None
    try:
        await subscribe(http, api_url, bearer, channel)
    except BaseException:
        await channel.ws.close()
        raise
    channel.state = "subscribed"
    channel.subscribed_at = channel.last_alive = now()
    return channel


async def subscribe(http: GenesysHttp, api_url: str, bearer: str, channel: Channel) -> None:
    """Replace the channel's subscriptions with its topics (also what extends a channel's 24 h life)."""
    await http.call(
        "PUT",
        f"{api_url}{CHANNELS}/{channel.id}/subscriptions",
        json=[{"id": t.name} for t in channel.topics],
        headers={"Authorization": f"Bearer {bearer}"},
    )


async def read(
    channel: Channel,
    heartbeat_timeout: float,
    on_notification: Callable[[Channel, messages.Notification], Awaitable[bool]],
    now: Callable[[], float],
) -> None:
    """The reader task's body: every message until the socket closes or goes silent."""
    assert channel.ws is not None
    ws = channel.ws
    while True:
        try:
            frame = await ws.receive(timeout=heartbeat_timeout)
        except TimeoutError:
            if channel.state != "closed":
                channel.state = "dead"
                await channel.events.put((channel, "dead"))
            return
        if frame.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            message = messages.parse(frame.data)
            if isinstance(message, messages.Notification):
                if not await on_notification(channel, message):
                    return  # stopping before it could be stored: the channel's cover ends before it
                channel.messages += 1
                channel.last_message_at = now()
            elif isinstance(message, messages.Closing):
                await channel.events.put((channel, "closing"))
            channel.last_alive = now()  # after storing: everything up to here is safe
            continue
        if frame.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
            channel.last_alive = now()
            continue
        if channel.state != "closed":  # CLOSE, CLOSING, CLOSED, ERROR: the socket is gone
            channel.state = "dropped"
            await channel.events.put((channel, "dropped"))
        return
