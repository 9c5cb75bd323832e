"""What the API's routes receive from the composition root; routes construct nothing themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ccbridge.api.tokens import TokenService
from ccbridge.config import Config
from ccbridge.core.ports import ApiStore
from ccbridge.ingest import IngestGateway
from ccbridge.observability.audit import AuditLog
from ccbridge.observability.metrics import Metrics


@dataclass
class Readiness:
    """Whether this process takes traffic (`GET /readyz`): false until the lifespan has opened the
    store and started the workers, and false again as soon as shutdown begins."""

    ready: bool = False


@dataclass
class Services:
    """Config, the store, tokens and metrics; `audit` and `ingest` are set when configured."""

    config: Config
    store: ApiStore
    tokens: TokenService
    metrics: Metrics
    now: Callable[[], float] = time.time
    audit: AuditLog | None = None
    ingest: IngestGateway | None = None
    readiness: Readiness = field(default_factory=Readiness)
