"""The pure parts of the Genesys connector: regions, topic expansion, splitting and typing, and the
WebSocket messages."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ccbridge.config.connectors import GenesysConnectorConfig
from ccbridge.connectors.genesys import messages
from ccbridge.connectors.genesys.regions import REGIONS, hosts
from ccbridge.connectors.genesys.topics import expand, split, typed
from ccbridge.connectors.sink import idempotency_key
from ccbridge.errors import ConfigError

UUID = "5f2d3c1a-0b6e-4a37-9d1e-2f4b6c8d0e1f"


def config(**values: Any) -> GenesysConnectorConfig:
    base: dict[str, Any] = {"name": "gc", "client_id": "id", "client_secret": "s", "topics": ["v2.x"]}
    if not {"region", "domain", "api_url"} & values.keys():
        base["region"] = "us-east-1"
    return GenesysConnectorConfig.model_validate(base | values)


@pytest.mark.parametrize(
    ("region", "api"),
    [
        ("us-east-1", "https://api.mypurecloud.com"),
        ("eu-central-1", "https://api.mypurecloud.de"),
        ("ap-southeast-2", "https://api.mypurecloud.com.au"),
        ("me-central-1", "https://api.mec1.pure.cloud"),
    ],
)
def test_a_region_names_its_hosts(region: str, api: str) -> None:
    """AWS-style region names map to Genesys' domains; login is login.<domain>."""
    assert hosts(config(region=region), "p") == (api, api.replace("//api.", "//login."))


def test_every_region_of_the_issue_is_known() -> None:
    """The fifteen regions of Genesys' list are in the table."""
    assert len(REGIONS) == 15 and REGIONS["us-east-2"] == "use2.us-gov-pure.cloud"


def test_a_domain_or_explicit_urls_override() -> None:
    """`domain` gives the hosts; `api_url`/`login_url` win over either."""
    assert hosts(config(domain="mypurecloud.ie"), "p") == (
        "https://api.mypurecloud.ie",
        "https://login.mypurecloud.ie",
    )
    both = config(api_url="http://127.0.0.1:9/", login_url="http://127.0.0.1:8")
    assert hosts(both, "p") == ("http://127.0.0.1:9", "http://127.0.0.1:8")


def test_an_unknown_region_is_a_config_error_naming_the_key() -> None:
    """A typo in the region names `connectors.genesys[0].region`."""
    with pytest.raises(ConfigError) as error:
        hosts(config(region="us-east-9"), "connectors.genesys[0]")
    assert error.value.path == "connectors.genesys[0].region"


def test_templates_expand_and_topics_are_typed_with_id_placeholders() -> None:
    """A template's ids are expanded once each; a concrete topic's UUID segments become {id}."""
    topics = expand(
        config(
            topics=[
                {"topic": "v2.routing.queues.{id}.conversations", "ids": ["q-1", "q-2", "q-1"]},
                f"v2.users.{UUID}.presence",
                "v2.routing.queues.q-1.conversations",
            ]
        )
    )
    assert [(t.name, t.event_type, t.ids) for t in topics] == [
        ("v2.routing.queues.q-1.conversations", "v2.routing.queues.{id}.conversations", ("q-1",)),
        ("v2.routing.queues.q-2.conversations", "v2.routing.queues.{id}.conversations", ("q-2",)),
        (f"v2.users.{UUID}.presence", "v2.users.{id}.presence", (UUID,)),
    ]
    assert typed("v2.system.thing").event_type == "v2.system.thing"


def test_topics_split_into_channels_and_too_many_are_refused() -> None:
    """1,000 topics a channel; needing more than 20 channels is an error naming the topics key."""
    topics = expand(config(topics=[{"topic": "v2.q.{id}", "ids": [str(n) for n in range(2001)]}]))
    assert [len(g) for g in split(topics, 1000, 20, "p")] == [1000, 1000, 1]
    with pytest.raises(ConfigError) as error:
        split(topics, 100, 20, "connectors.genesys[1]")
    assert error.value.path == "connectors.genesys[1].topics" and "21 channels" in error.value.message


def test_heartbeats_closing_and_notifications_are_told_apart() -> None:
    """channel.metadata is a heartbeat, v2.system.socket_closing a warning, anything else a notification."""
    assert isinstance(
        messages.parse(
            orjson.dumps({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}})
        ),
        messages.Heartbeat,
    )
    assert isinstance(
        messages.parse('{"topicName": "v2.system.socket_closing", "eventBody": {}}'), messages.Closing
    )
    note = messages.parse('{"topicName": "v2.x", "eventBody": {"a": 1}, "metadata": {"CorrelationId": "c"}}')
    assert (
        isinstance(note, messages.Notification)
        and note.body == {"a": 1}
        and note.metadata == {"CorrelationId": "c"}
    )
    assert messages.parse("not json") is None and messages.parse('{"no": "topic"}') is None


def test_the_platform_id_is_the_message_id_else_a_stable_hash() -> None:
    """Key order does not change the hash; another body does; a given id wins."""
    one = {"topicName": "t", "eventBody": {"a": 1, "b": 2}}
    same = {"eventBody": {"b": 2, "a": 1}, "topicName": "t", "metadata": {"CorrelationId": "other"}}
    assert messages.platform_id(one) == messages.platform_id(same)
    assert messages.platform_id(one) != messages.platform_id({"topicName": "t", "eventBody": {"a": 2}})
    assert messages.platform_id({**one, "id": "evt-1"}) == "evt-1"


def test_long_platform_ids_are_hashed_into_the_key() -> None:
    """Idempotency keys stay short whatever the platform id."""
    assert idempotency_key("gc", "p-1") == "connector:gc:p-1"
    assert len(idempotency_key("gc", "x" * 1000)) < 100


def test_check_config_refuses_a_connector_it_cannot_run(tmp_path: Any) -> None:
    """What `check-config` runs (bootstrap.compile_files) names an unknown region by its key."""
    from ccbridge.bootstrap import compile_files
    from ccbridge.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text(
        "auth: {clients: [{id: c, secret: s-0123456789abcdef}]}\n"
        "connectors:\n  genesys:\n    - {name: g, region: mars-1, client_id: i, client_secret: s, topics: [v2.x]}\n"
    )
    with pytest.raises(ConfigError) as error:
        compile_files(load_config(path))
    assert error.value.path == "connectors.genesys[0].region"
