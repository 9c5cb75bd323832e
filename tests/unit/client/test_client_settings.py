"""Where the CLI finds the API: the `api` section, else the same file's own server and first client."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ccbridge.client import ApiConfig, client_settings
from ccbridge.config import parse_config
from ccbridge.errors import ConfigError


def test_client_settings_fall_back_to_the_server_section() -> None:
    """Without `api`, the CLI talks to server.host:port (wildcard -> loopback) as the first client."""
    config = parse_config(
        {
            "server": {"host": "0.0.0.0", "port": 8123},
            "auth": {
                "clients": [{"id": "ops", "secret": "ops-secret-123", "scopes": ["eventbridge:events:write"]}]
            },
        }
    )
    settings = client_settings(config)
    assert settings.base_url == "http://127.0.0.1:8123" and settings.client_id == "ops"
    assert settings.client_secret.get_secret_value() == "ops-secret-123"
    assert settings.scopes == ["eventbridge:events:write"]


def test_an_api_section_wins() -> None:
    explicit = parse_config(
        {
            "api": {
                "base_url": "https://bridge.example/",
                "client_id": "c",
                "client_secret": "s",
                "auth_style": "basic",
            }
        }
    )
    assert client_settings(explicit) == ApiConfig(
        base_url="https://bridge.example", client_id="c", client_secret=SecretStr("s"), auth_style="basic"
    )


def test_neither_is_a_config_error_naming_api() -> None:
    with pytest.raises(ConfigError) as caught:
        client_settings(parse_config({}))
    assert caught.value.path == "api"
