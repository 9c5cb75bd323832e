"""The client side's config sections: where the API is, what to publish, where to audit and sync.

These models validate the `api`, `publish`, `audit` and `registry` sections of the shared YAML file
(the server's loader keeps them as plain mappings). Unknown keys are rejected and every error names
its key path (`api.client_secret`), so a CLI can exit 2 with a message pointing at the line to fix.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ccbridge.errors import ConfigError

TOKEN_PATH = "/api/v2/oauth/token"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL with a host")
    return value.rstrip("/")


class ApiConfig(BaseModel):
    """How to reach a server of the API. `scopes` empty asks for every scope the client has.

    `auth_style` "form" sends the credentials in the token request's form body (seed 001),
    "basic" as HTTP Basic (seeds 003 and 004). `timeout` is per HTTP call, in seconds.
    """

    model_config = ConfigDict(extra="forbid")

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


class PublishTypeConfig(BaseModel):
    """One publishable type: its JSON Schema file and the data field whose value keys idempotency."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: str = Field(alias="schema", min_length=1)
    business_key: str = Field(min_length=1)


class PublishConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_types: dict[str, PublishTypeConfig] = Field(default_factory=dict)


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1)


class RegistryConfig(BaseModel):
    """Seed 001's infrastructure registry: state changes are POSTed, signed with `secret`."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: str
    secret: SecretStr

    @field_validator("webhook_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)


M = TypeVar("M", bound=BaseModel)


def _path(root: str, loc: tuple[int | str, ...]) -> str:
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_section(model: type[M], raw: Any, root: str) -> M:
    """Validate one section (a mapping, or an already-built model); the first error names its key."""
    if isinstance(raw, model):
        return raw
    if isinstance(raw, BaseModel):
        raw = raw.model_dump(by_alias=True)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise ConfigError(_path(root, tuple(err["loc"])), message) from exc


def client_settings(config: Any) -> ApiConfig:
    """The API a CLI talks to: the `api` section, else the same file's own server and first client.

    Reads attributes by name so it works with any config object of that shape. A wildcard listen
    address (0.0.0.0, ::) is reached through loopback.
    """
    api = getattr(config, "api", None)
    if api is not None:
        return parse_section(ApiConfig, api, "api")
    clients = list(getattr(getattr(config, "auth", None), "clients", None) or [])
    if not clients:
        raise ConfigError("api", "missing: no api section and no auth.clients to fall back on")
    server = getattr(config, "server", None)
    host = str(getattr(server, "host", "127.0.0.1"))
    port = int(getattr(server, "port", 8080))
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    first = clients[0]
    secret = first.secret
    return ApiConfig(
        base_url=f"http://{host}:{port}",
        client_id=first.id,
        client_secret=secret if isinstance(secret, SecretStr) else SecretStr(str(secret)),
        scopes=list(getattr(first, "scopes", []) or []),
    )
