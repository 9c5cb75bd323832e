"""The client side's sections: where the API is (`api`), what to publish (`publish`), where to audit
(`audit`) and which registry to sync (`registry`).

They are fields of the root `Config`, and `ccbridge.client` uses them on their own too (a program
that builds an `ApiConfig` without any file); both validate through the same models.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator

from ccbridge.config.base import Strict

TOKEN_PATH = "/api/v2/oauth/token"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL with a host")
    return value.rstrip("/")


class ApiConfig(Strict):
    """How to reach a server of the API. `scopes` empty asks for every scope the client has.

    `auth_style` "form" sends the credentials in the token request's form body (seed 001),
    "basic" as HTTP Basic (seeds 003 and 004). `timeout` is per HTTP call, in seconds.
    """

    base_url: str
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    scopes: list[str] = Field(default_factory=list)
    auth_style: Literal["form", "basic"] = "form"
    timeout: float = Field(default=10.0, gt=0)
    token_url: str | None = None

    @field_validator("base_url", "token_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @property
    def resolved_token_url(self) -> str:
        """The token endpoint: `token_url` when given, else the API's own `/api/v2/oauth/token`."""
        return self.token_url or self.base_url + TOKEN_PATH


class PublishTypeConfig(Strict):
    """One publishable type: its JSON Schema file and the data field whose value keys idempotency."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: str = Field(alias="schema", min_length=1)
    business_key: str = Field(min_length=1)


class PublishConfig(Strict):
    """`publish.event_types`: each publishable type by name."""

    event_types: dict[str, PublishTypeConfig] = Field(default_factory=dict)


class AuditConfig(Strict):
    """The hash-chained audit log that plan/apply append to (relative to the config file's folder)."""

    path: str = Field(min_length=1)


class RegistryConfig(Strict):
    """Seed 001's infrastructure registry: state changes are POSTed, signed with `secret`.

    In a server's config, the server posts them itself (`core.registry`): every subscription write
    through its API, and every change of a subscription's delivery state, looked at every
    `state_poll_seconds`."""

    webhook_url: str
    secret: SecretStr
    state_poll_seconds: float = Field(default=5.0, gt=0)

    @field_validator("webhook_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)
