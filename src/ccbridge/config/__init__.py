"""Configuration: one typed root model (`Config`) for the whole YAML file, loaded in one pass.

    load_config(path, env=None) -> Config
        YAML -> `${VAR}` from env -> `CCBRIDGE_SECTION__KEY` overrides from env -> validation

Every section is a typed field (`api`, `publish`, `audit`, `registry` and `ingest` included), unknown
keys are rejected, and every problem of a file comes back at once in one ConfigError, each with its
key path (`auth.clients[0].secret: must be at least 8 characters`) through `config_error`, the one
translation of pydantic's errors. Components receive their own section and never read the
environment themselves. Files a section names (schemas, keys) are read by the part that uses them
(`ccbridge.ingest.compile_ingest`), not here.

Modules: `model` (the root and the server's sections), `client` and `ingest` (those sides'
sections), `environment` (`${VAR}` and overrides), `problems` (errors -> key paths), `load`.
"""

from ccbridge.config.client import ApiConfig, AuditConfig, PublishConfig, PublishTypeConfig, RegistryConfig
from ccbridge.config.environment import LEVEL, PREFIX
from ccbridge.config.ingest import IngestConfig
from ccbridge.config.load import load_config, parse_config, resolve_path
from ccbridge.config.model import (
    DEFAULT_EVENT_TYPES,
    SCOPES,
    AuthConfig,
    ClientConfig,
    Config,
    DeliveryConfig,
    FaultsConfig,
    InboundConfig,
    LimitsConfig,
    LoggingConfig,
    ServerConfig,
    StoreConfig,
)
from ccbridge.config.problems import Problem, config_error, error_path, problems

__all__ = [
    "DEFAULT_EVENT_TYPES",
    "LEVEL",
    "PREFIX",
    "SCOPES",
    "ApiConfig",
    "AuditConfig",
    "AuthConfig",
    "ClientConfig",
    "Config",
    "DeliveryConfig",
    "FaultsConfig",
    "InboundConfig",
    "IngestConfig",
    "LimitsConfig",
    "LoggingConfig",
    "Problem",
    "PublishConfig",
    "PublishTypeConfig",
    "RegistryConfig",
    "ServerConfig",
    "StoreConfig",
    "config_error",
    "error_path",
    "load_config",
    "parse_config",
    "problems",
    "resolve_path",
]
