"""What the API's routes receive from the composition root; routes construct nothing themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ccbridge.api.tokens import TokenService
from ccbridge.config import Config
from ccbridge.core.ports import ApiStore, WriteHealth
from ccbridge.ingest import IngestGateway
from ccbridge.observability.audit import AuditLog
from ccbridge.observability.history import MetricsHistory
from ccbridge.observability.metrics import Metrics


@dataclass
class Readiness:
    """Whether this process takes traffic (`GET /readyz`).

    `ready` is the lifecycle: false until the lifespan has opened the store and started the workers,
    and false again as soon as shutdown begins. Once started, the store's writes must also commit:
    `problem` is None when ready, else why not (a load balancer then sends the traffic elsewhere
    while the disk is full, and back once a write commits again)."""

    ready: bool = False

    async def problem(self, store: WriteHealth) -> str | None:
        if not self.ready:
            return "starting"
        return await store.write_problem()


@dataclass
class Services:
    """Config, the store, tokens and metrics; `audit` and `ingest` are set when configured; `session_key`
    once the store is open."""

    config: Config
    store: ApiStore
    tokens: TokenService
    metrics: Metrics
    now: Callable[[], float] = time.time
    audit: AuditLog | None = None
    ingest: IngestGateway | None = None
    readiness: Readiness = field(default_factory=Readiness)
    session_key: bytes = b""  # the dashboard's cookie key (api.ui.session), from the store once it opens
    history: MetricsHistory = field(default_factory=MetricsHistory)  # the dashboard's per-minute charts
    wake_replays: Callable[[], None] = field(default=lambda: None)
    """Called after a replay job is stored, so this process's replayer claims it without waiting."""
