"""What arrives on a notification WebSocket: topic messages, heartbeats and the closing warning.

Every message is JSON `{topicName, eventBody, metadata?}`. `channel.metadata` carries heartbeats
(`eventBody.message` "WebSocket Heartbeat", every 30 s) and the answer to a client's `{"message":
"ping"}` ("pong"); `v2.system.socket_closing` warns that the service will close the socket (about a
minute ahead, for maintenance). Anything else is a notification of a subscribed topic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

HEARTBEAT_TOPIC = "channel.metadata"
CLOSING_TOPIC = "v2.system.socket_closing"
PING = orjson.dumps({"message": "ping"}).decode()


@dataclass(frozen=True, slots=True)
class Notification:
    topic: str
    body: Any
    metadata: dict[str, Any]
    platform_id: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    pass


@dataclass(frozen=True, slots=True)
class Closing:
    pass


Message = Notification | Heartbeat | Closing


def platform_id(message: dict[str, Any]) -> str:
    """The message's own id where it has one (`id`, else `metadata.id`), else a stable hash of its
    topic and body: the same notification read on two channels gets the same id. (Genesys'
    notifications carry no event id of their own: `metadata.CorrelationId` names the request that
    caused a change and is shared by every notification it caused, so it is not used.)"""
    given = message.get("id")
    metadata = message.get("metadata")
    if not isinstance(given, str) and isinstance(metadata, dict):
        given = metadata.get("id")
    if isinstance(given, str) and given:
        return given
    canonical = orjson.dumps(
        {"topicName": message.get("topicName"), "eventBody": message.get("eventBody")},
        option=orjson.OPT_SORT_KEYS,
    )
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def parse(text: str | bytes) -> Message | None:
    """The message, or None when it is not a JSON object with a string `topicName` (ignored)."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict) or not isinstance(topic := message.get("topicName"), str):
        return None
    if topic == HEARTBEAT_TOPIC:
        return Heartbeat()
    if topic == CLOSING_TOPIC:
        return Closing()
    metadata = message.get("metadata")
    return Notification(
        topic, message.get("eventBody"), metadata if isinstance(metadata, dict) else {}, platform_id(message)
    )
