"""`connectors:`: the real platforms' event surfaces ccbridge reads (and, for CXone, calls).

The keys named in the connectors issue are fixed (deployments and outside checks rely on them);
the rest are tuning with defaults. Secrets are `SecretStr`, so a dumped config never shows them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator

from ccbridge.config.base import Strict, config_problem, require_unique

ConnectorName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class TopicTemplate(Strict):
    """A topic with `{id}` in it and the ids to expand it with (queues, users, ...)."""

    topic: str = Field(min_length=1)
    ids: list[str] = Field(min_length=1)

    @field_validator("topic")
    @classmethod
    def _has_placeholder(cls, value: str) -> str:
        if "{id}" not in value:
            raise config_problem("a topic template names {id} where each id goes")
        return value


class GenesysConnectorConfig(Strict):
    """One Genesys Cloud org's notification channels (client credentials grant)."""

    name: ConnectorName
    region: str | None = Field(None, description="AWS-style region name, e.g. us-east-1 (or give domain)")
    domain: str | None = Field(None, description="the org's domain, e.g. mypurecloud.de (or give region)")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    topics: list[str | TopicTemplate] = Field(min_length=1)
    api_url: str | None = Field(None, description="default https://api.<domain>")
    login_url: str | None = Field(None, description="default https://login.<domain>")
    heartbeat_timeout_seconds: float = Field(
        35.0, gt=0, description="no message for this long: a dead socket"
    )
    resubscribe_before_expiry_seconds: float = Field(600.0, ge=0)
    max_channels: int = Field(20, ge=1, description="the platform's per-client channel limit")
    topics_per_channel: int = Field(1000, ge=1, le=1000)

    @model_validator(mode="after")
    def _where(self) -> GenesysConnectorConfig:
        if (self.region is None) == (self.domain is None) and not (self.api_url and self.login_url):
            raise config_problem("give region or domain (one of them), or both api_url and login_url")
        return self


class BasicCredential(Strict):
    username: str = Field(min_length=1)
    password: SecretStr


class AwsEventBridgeSourceConfig(Strict):
    """`POST /sources/aws-eventbridge`: envelopes sent by an EventBridge API destination."""

    api_key_header: str = Field("x-api-key", min_length=1)
    api_keys: list[SecretStr] = Field(default_factory=list, description="several for rotation")
    basic: list[BasicCredential] = Field(default_factory=list)
    source: str = Field("aws.eventbridge", description="the `source` of the events it stores")

    @model_validator(mode="after")
    def _some_credential(self) -> AwsEventBridgeSourceConfig:
        if not self.api_keys and not self.basic:
            raise config_problem("give api_keys or basic credentials: the route is never open")
        return self


class CxoneConnectorConfig(Strict):
    """One CXone tenant: the agent event source and the Signal endpoint's credentials."""

    name: ConnectorName
    access_key_id: str = Field(min_length=1)
    access_key_secret: SecretStr
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    auth_url: str = Field("https://cxone.niceincontact.com", description="token and discovery endpoints")
    api_url: str | None = Field(None, description="overrides the discovered api_endpoint")
    agents: list[str] = Field(default_factory=list, description="agent sessions to follow")
    poll_timeout_seconds: int = Field(30, ge=0, le=60, description="get-next-event long-poll timeout")


class ConnectorsConfig(Strict):
    genesys: list[GenesysConnectorConfig] = Field(default_factory=list)
    aws_eventbridge: AwsEventBridgeSourceConfig | None = None
    cxone: list[CxoneConnectorConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> ConnectorsConfig:
        require_unique([c.name for c in self.genesys] + [c.name for c in self.cxone], "connector names")
        return self
