"""What the API's routes receive from the composition root; routes construct nothing themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ccbridge.api.tokens import TokenService
from ccbridge.config import Config
from ccbridge.core.ports import ApiStore
from ccbridge.observability.metrics import Metrics


@dataclass
class Services:
    """Config, the store, tokens and metrics; `audit` and `ingest` are set when configured."""

    config: Config
    store: ApiStore
    tokens: TokenService
    metrics: Metrics
    now: Callable[[], float] = time.time
    audit: Any | None = None
    ingest: Any | None = None
    extras: dict[str, Any] = field(default_factory=dict)
