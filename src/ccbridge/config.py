"""Configuration: YAML file -> `${VAR}` from the environment -> pydantic models, validated once.

Unknown keys are rejected and every message names the key path (`auth.clients[0].secret`), so
`ccbridge check-config` can point at the line to fix. Components receive their own sub-config and
never read the environment themselves.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ccbridge.errors import ConfigError

# Every event type the source documents name; `custom.*` is always accepted on top of these.
DEFAULT_EVENT_TYPES: tuple[str, ...] = (
    "contact.created",
    "contact.updated",
    "interaction.completed",
    "queue.event",
    "routing:interaction:completed",
    "OrderCreated",
)

SCOPES: tuple[str, ...] = (
    "eventbridge:subscriptions:read",
    "eventbridge:subscriptions:write",
    "eventbridge:events:write",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class StoreConfig(_Strict):
    url: str = "sqlite:///./ccbridge.db"
    retention_days: float = Field(
        30.0, ge=1, description="settled deliveries and unreferenced events older than this are removed"
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith("sqlite:///"):
            raise ValueError(
                "only sqlite:///PATH is supported by this release (PostgreSQL and NATS come later)"
            )
        return value

    @property
    def sqlite_path(self) -> str:
        return self.url.removeprefix("sqlite:///")


class ClientConfig(_Strict):
    id: str = Field(min_length=1)
    secret: SecretStr
    scopes: list[str] = Field(default_factory=lambda: list(SCOPES))

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise ValueError("must be at least 8 characters")
        return value


class AuthConfig(_Strict):
    clients: list[ClientConfig] = Field(default_factory=list)
    token_ttl_seconds: int = Field(3600, ge=60, le=86_400)


class LimitsConfig(_Strict):
    max_body_bytes: int = Field(262_144, ge=1024)
    max_subscriptions: int = Field(100, ge=1)
    max_endpoints: int = Field(10, ge=1, le=10)


class DeliveryConfig(_Strict):
    """How the dispatcher works; the defaults suit one process on a small machine."""

    enabled: bool = True
    concurrency: int = Field(256, ge=1, description="deliveries in flight per process")
    per_endpoint_concurrency: int = Field(32, ge=1)
    timeout_seconds: float = Field(10.0, gt=0)
    lease_seconds: float = Field(
        30.0, gt=0, description="renewed while held; how soon a crashed process's deliveries are retried"
    )
    poll_interval_ms: int = Field(250, ge=1)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    allow_private_networks: bool = False
    allowed_networks: list[str] = Field(default_factory=list)
    grpc_ca_file: str | None = None


class InboundConfig(_Strict):
    """`POST /events`: the platform webhooks ccbridge receives (seed 002's receiver)."""

    secrets: list[SecretStr] = Field(default_factory=list)
    tolerance_seconds: int = Field(300, ge=1)
    source: str = "genesys-cloud"


class FaultsConfig(_Strict):
    """Fault injection (429/503 for a share of API requests); only the testing server honours it."""

    rate: float = Field(0.0, ge=0, le=1)
    statuses: list[int] = Field(default_factory=lambda: [429, 503])
    retry_after: float = Field(0.05, ge=0)
    seed: int | None = None
    when: Literal["before", "after", "both"] = "before"


class LoggingConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] = "json"


class Config(_Strict):
    server: ServerConfig = Field(default_factory=ServerConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    event_types: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENT_TYPES))
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    inbound: InboundConfig = Field(default_factory=InboundConfig)
    faults: FaultsConfig = Field(default_factory=FaultsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    # Client side (issue 5) and gateway (issue 6) sections: validated by their own models.
    api: dict[str, Any] | None = None
    subscriptions: list[dict[str, Any]] = Field(default_factory=list)
    publish: dict[str, Any] | None = None
    audit: dict[str, Any] | None = None
    registry: dict[str, Any] | None = None
    ingest: dict[str, Any] | None = None
    base_dir: str = Field(
        ".", exclude=True, description="folder of the config file; relative paths start here"
    )

    def event_type_known(self, event_type: str) -> bool:
        return event_type.startswith("custom.") or event_type in self.event_types


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(value: Any, path: str, env: dict[str, str]) -> Any:
    """Substitute `${VAR}` / `${VAR:-default}` in string values only, so no YAML is injected."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(path, f"environment variable {name} is not set")

        return _VAR.sub(replace, value)
    if isinstance(value, dict):
        return {k: _expand(v, f"{path}.{k}" if path else str(k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{path}[{i}]", env) for i, v in enumerate(value)]
    return value


def error_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's `('auth', 'clients', 0, 'secret')` -> `auth.clients[0].secret`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _first_error(exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    return ConfigError(error_path(tuple(err["loc"])), message)


def parse_config(raw: Any, base_dir: str = ".", env: dict[str, str] | None = None) -> Config:
    """Validate an already-loaded document; the first problem is raised as a ConfigError."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("", "the config file must hold a mapping at the top level")
    expanded = _expand(raw, "", dict(os.environ) if env is None else env)
    try:
        config = Config.model_validate({**expanded, "base_dir": base_dir})
    except ValidationError as exc:
        raise _first_error(exc) from exc
    _check_unique_clients(config)
    return config


def _check_unique_clients(config: Config) -> None:
    seen: set[str] = set()
    for i, client in enumerate(config.auth.clients):
        if client.id in seen:
            raise ConfigError(f"auth.clients[{i}].id", f"duplicate client id {client.id!r}")
        seen.add(client.id)
        for j, scope in enumerate(client.scopes):
            if scope not in SCOPES and scope.replace(":subscriptions:", ":subscription:") not in {
                s.replace(":subscriptions:", ":subscription:") for s in SCOPES
            }:
                raise ConfigError(f"auth.clients[{i}].scopes[{j}]", f"unknown scope {scope!r}")


def load_config(path: str | Path, env: dict[str, str] | None = None) -> Config:
    """Read a YAML file; errors name the key path, or the line for YAML syntax errors."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {file}: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError("", f"{file} is not valid YAML{where}") from exc
    return parse_config(raw, base_dir=str(file.resolve().parent), env=env)


def resolve_path(config: Config, path: str) -> Path:
    """A path from the config, relative to the config file's folder."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else Path(config.base_dir) / candidate
