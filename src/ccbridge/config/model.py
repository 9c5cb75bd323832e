"""The root config model: every section of the YAML file as a typed field, validated in one pass.

Unknown keys are rejected everywhere. Checks that span entries (unique client ids, known scopes,
CIDR networks) are validators too, so one ValidationError lists every problem of a file.
Components receive their own section and never read the environment themselves.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, field_validator

from ccbridge.config.base import Strict, config_problem, require_unique
from ccbridge.config.client import ApiConfig, AuditConfig, PublishConfig, RegistryConfig
from ccbridge.config.connectors import ConnectorsConfig
from ccbridge.config.ingest import IngestConfig

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


def _singular(scope: str) -> str:
    return scope.replace(":subscriptions:", ":subscription:")


def _known_scope(scope: str) -> str:
    """The documents spell the subscription scopes both singular and plural; either is accepted."""
    if _singular(scope) not in {_singular(s) for s in SCOPES}:
        raise config_problem(f"unknown scope {scope!r}")
    return scope


def _cidr(network: str) -> str:
    try:
        ipaddress.ip_network(network.strip(), strict=False)
    except ValueError:
        raise config_problem(f"not a CIDR network: {network!r}") from None
    return network


Scope = Annotated[str, AfterValidator(_known_scope)]
Cidr = Annotated[str, AfterValidator(_cidr)]


def _workers(value: Any) -> Any:
    """One clear problem for a bad count (a union's errors would list one per member)."""
    if value == "auto":
        return value
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = 0
    if isinstance(value, bool) or count < 1 or str(count) != str(value).strip():
        raise config_problem(f"must be a positive number of processes or 'auto', not {value!r}")
    return count


Workers = Annotated[int | Literal["auto"], BeforeValidator(_workers)]
"""`server.workers` and `serve --workers`: a positive number of processes, or `auto`."""


class ServerConfig(Strict):
    """The listener and what it tolerates from a client connection (`api.connections`)."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="a request's line and headers must arrive within this (else 408 / close)"
    )
    body_timeout_seconds: float = Field(
        10.0, gt=0, description="grace before a body must keep up min_body_bytes_per_second (else 408)"
    )
    min_body_bytes_per_second: float = Field(1024.0, gt=0)
    max_connections: int = Field(
        10_000, ge=1, description="open connections per process; the next one is answered 503"
    )
    max_header_bytes: int = Field(65_536, ge=1024, description="request line and headers together (431)")
    max_header_line_bytes: int = Field(16_384, ge=256, description="one header field, name and value (431)")
    max_headers: int = Field(100, ge=1, description="header fields in one request (431)")
    workers: Workers = Field(
        1, description="processes serving the port, each with its own loop and store (`auto`: one a core)"
    )

    @property
    def worker_count(self) -> int:
        """`workers` as a number: `auto` is `os.cpu_count()`; 1 means a single process, no supervisor."""
        return (os.cpu_count() or 1) if self.workers == "auto" else self.workers


class StoreConfig(Strict):
    url: str = Field(
        "sqlite:///./ccbridge.db",
        description="sqlite:///PATH (one machine) or postgresql://USER@HOST:PORT/DB (any number of replicas)",
    )
    postgres_schema: str | None = Field(
        None,
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema for ccbridge's tables (created when missing); default: the search path",
    )
    retention_days: float = Field(
        30.0, ge=1, description="settled deliveries and unreferenced events older than this are removed"
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value.startswith("sqlite:///"):
            return value
        if value.startswith(("postgresql://", "postgres://")):
            if not value.split("://", 1)[1].split("?", 1)[0].strip("/"):
                raise ValueError(
                    "a PostgreSQL URL names its host and database: postgresql://USER@HOST:PORT/DB"
                )
            return value
        raise ValueError("use sqlite:///PATH or postgresql://USER@HOST:PORT/DB")

    @property
    def kind(self) -> str:
        """Which backend the URL names: "sqlite" or "postgres"."""
        return "sqlite" if self.url.startswith("sqlite:///") else "postgres"

    @property
    def sqlite_path(self) -> str:
        return self.url.removeprefix("sqlite:///")


class ClientConfig(Strict):
    id: str = Field(min_length=1)
    secret: SecretStr
    scopes: list[Scope] = Field(default_factory=lambda: list(SCOPES))

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise ValueError("must be at least 8 characters")
        return value


class AuthConfig(Strict):
    clients: list[ClientConfig] = Field(default_factory=list)
    token_ttl_seconds: int = Field(3600, ge=60, le=86_400)

    @field_validator("clients")
    @classmethod
    def _unique_ids(cls, clients: list[ClientConfig]) -> list[ClientConfig]:
        require_unique([c.id for c in clients], "client ids")
        return clients


class LimitsConfig(Strict):
    max_body_bytes: int = Field(262_144, ge=1024)
    max_subscriptions: int = Field(100, ge=1)
    max_endpoints: int = Field(10, ge=1, le=10)
    max_pending: int = Field(
        100_000,
        ge=1,
        description="deliveries not yet settled, across the store; beyond it ingestion answers 503",
    )


OPERATIONAL_EVENT_TYPES = frozenset({"ccbridge.endpoint.disabled", "ccbridge.test"})
"""Events ccbridge itself emits; subscriptions may name them whatever `event_types` lists."""


class BreakerConfig(Strict):
    """`delivery.breaker`: each endpoint's circuit breaker (`core.endpoint_health`)."""

    enabled: bool = True
    failures: int = Field(5, ge=1, description="consecutive failed attempts that open the breaker")
    probe_initial_seconds: float = Field(5.0, gt=0, description="wait before the first probe")
    probe_max_seconds: float = Field(600.0, gt=0, description="longest wait between probes")
    disable_after_seconds: float = Field(
        5 * 86400.0, gt=0, description="failing this long without a success disables the endpoint"
    )


class DeliveryConfig(Strict):
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
    allowed_networks: list[Cidr] = Field(default_factory=list)
    grpc_ca_file: str | None = None
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    secret_grace_seconds: float = Field(
        86400.0, ge=0, description="after a secret rotation, deliveries are signed with both for this long"
    )


class InboundConfig(Strict):
    """`POST /events`: the platform webhooks ccbridge receives (seed 002's receiver)."""

    secrets: list[SecretStr] = Field(default_factory=list)
    tolerance_seconds: int = Field(300, ge=1)
    source: str = "genesys-cloud"


class FaultsConfig(Strict):
    """Fault injection (429/503 for a share of API requests); only the testing server honours it."""

    rate: float = Field(0.0, ge=0, le=1)
    statuses: list[int] = Field(default_factory=lambda: [429, 503])
    retry_after: float = Field(0.05, ge=0)
    seed: int | None = None
    when: Literal["before", "after", "both"] = "before"


class LoggingConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] = "json"


class Config(Strict):
    """The whole file. `base_dir` is no key of the file: the loader sets it to the file's folder."""

    server: ServerConfig = Field(default_factory=ServerConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    event_types: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENT_TYPES))
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    inbound: InboundConfig = Field(default_factory=InboundConfig)
    faults: FaultsConfig = Field(default_factory=FaultsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    # The client side's sections (plan/apply, publish) and the gateway's; None when absent.
    api: ApiConfig | None = None
    subscriptions: list[dict[str, Any]] = Field(
        default_factory=list, description="declared subscriptions, in either dialect, checked by the client"
    )
    publish: PublishConfig | None = None
    audit: AuditConfig | None = None
    registry: RegistryConfig | None = None
    ingest: IngestConfig | None = None
    connectors: ConnectorsConfig = Field(default_factory=ConnectorsConfig)
    base_dir: str = Field(
        ".", exclude=True, description="folder of the config file; relative paths start here"
    )

    def event_type_known(self, event_type: str) -> bool:
        return (
            event_type.startswith("custom.")
            or event_type in self.event_types
            or event_type in OPERATIONAL_EVENT_TYPES
        )
