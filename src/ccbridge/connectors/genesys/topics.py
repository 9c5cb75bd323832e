"""Topics: templates expanded, split into channels, and a concrete topic's event type.

A channel takes at most `topics_per_channel` (the platform's 1,000) topics, a client at most
`max_channels` (the platform's 20) channels; a configuration needing more is refused at start with
the count, rather than silently dropping topics. The event type of a topic is the topic with its
ids replaced by `{id}` (as Genesys' EventBridge integration names `detail-type`): the ids a
template was expanded with, and any segment that looks like a Genesys id (a UUID).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ccbridge.config.connectors import GenesysConnectorConfig, TopicTemplate
from ccbridge.errors import ConfigError

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True, slots=True)
class Topic:
    """A concrete topic to subscribe, its event type and the ids it names (in order)."""

    name: str
    event_type: str
    ids: tuple[str, ...]


def typed(name: str, known_ids: frozenset[str] = frozenset()) -> Topic:
    """`name` with each id segment (a known id or a UUID) replaced by `{id}` in its type."""
    segments = name.split(".")
    ids = tuple(s for s in segments if s in known_ids or UUID.match(s))
    event_type = ".".join("{id}" if (s in known_ids or UUID.match(s)) else s for s in segments)
    return Topic(name, event_type, ids)


def expand(config: GenesysConnectorConfig) -> list[Topic]:
    """Every concrete topic, templates expanded, each once, in configured order."""
    found: dict[str, Topic] = {}
    for entry in config.topics:
        if isinstance(entry, TopicTemplate):
            for given in entry.ids:
                name = entry.topic.replace("{id}", given)
                found.setdefault(name, Topic(name, entry.topic, (given,) * entry.topic.count("{id}")))
        else:
            found.setdefault(entry, typed(entry))
    return list(found.values())


def split(topics: list[Topic], per_channel: int, max_channels: int, path: str) -> list[list[Topic]]:
    """`topics` in groups of at most `per_channel`; ConfigError naming `path`.topics when that needs
    more than `max_channels` channels."""
    groups = [topics[i : i + per_channel] for i in range(0, len(topics), per_channel)]
    if len(groups) > max_channels:
        raise ConfigError(
            f"{path}.topics",
            f"{len(topics)} topics need {len(groups)} channels of {per_channel} topics, more than the"
            f" {max_channels} channels Genesys Cloud allows one OAuth client (split the topics over"
            " several connectors with their own clients)",
        )
    return groups
