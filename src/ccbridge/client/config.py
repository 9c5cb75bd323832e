"""The client side's config: the section models (defined with the root config in `ccbridge.config`,
re-exported here), one section validated on its own, and which API a CLI talks to.

Unknown keys are rejected and every error names its key path (`api.client_secret`), so a CLI can
exit 2 with a message pointing at the line to fix.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from ccbridge.config import config_error
from ccbridge.config.client import (
    TOKEN_PATH,
    ApiConfig,
    AuditConfig,
    PublishConfig,
    PublishTypeConfig,
    RegistryConfig,
)
from ccbridge.errors import ConfigError

__all__ = [
    "TOKEN_PATH",
    "ApiConfig",
    "AuditConfig",
    "PublishConfig",
    "PublishTypeConfig",
    "RegistryConfig",
    "client_settings",
    "parse_section",
]

M = TypeVar("M", bound=BaseModel)


def parse_section(model: type[M], raw: Any, root: str) -> M:
    """One section as `model`: an instance is returned as it is, anything else validated.

    Raises a ConfigError carrying every problem, each path under `root` (`api.base_url`)."""
    if isinstance(raw, model):
        return raw
    if isinstance(raw, BaseModel):
        raw = raw.model_dump(by_alias=True)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise config_error(exc, root) from exc


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
