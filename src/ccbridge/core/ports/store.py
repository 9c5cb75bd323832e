"""The aggregates: `Store` (a whole backend: every port by job plus its lifecycle) and `ApiStore`
(what the API's routes use).

A new store port is a Protocol in the `ccbridge.core.ports` module of its job (a new module for a
new job), re-exported by the package and added to `Store`'s bases here (and to `ApiStore`'s when the
routes use it); backends implement it as mixins and `tests/contract/` holds them to it.
"""

from __future__ import annotations

from typing import Protocol

from ccbridge.core.ports.connector_leases import ConnectorLeases
from ccbridge.core.ports.deadletters import DeadLetterRemoval, DeadLetterStore
from ccbridge.core.ports.deliveries import DeliveryQueue, DeliveryReports
from ccbridge.core.ports.endpoint_health import EndpointHealth
from ccbridge.core.ports.events import EventLog, IdempotencyRecords
from ccbridge.core.ports.history import DeliveryHistory
from ccbridge.core.ports.housekeeping import Housekeeping
from ccbridge.core.ports.rate_limits import RateLimits
from ccbridge.core.ports.readiness import ReadHealth, WriteHealth
from ccbridge.core.ports.registry_outbox import RegistryOutbox
from ccbridge.core.ports.replays import ReplayJobs
from ccbridge.core.ports.subscriptions import SubscriptionStore


class Store(
    EventLog,
    IdempotencyRecords,
    SubscriptionStore,
    DeliveryQueue,
    DeliveryReports,
    DeadLetterStore,
    DeadLetterRemoval,
    Housekeeping,
    WriteHealth,
    DeliveryHistory,
    ReplayJobs,
    RegistryOutbox,
    EndpointHealth,
    ConnectorLeases,
    ReadHealth,
    RateLimits,
    Protocol,
):
    """A whole backend: every job above plus its lifecycle. Only `bootstrap.py` and the contract
    tests hold one; every other part receives the protocol of the job it does."""

    async def open(self) -> None:
        """Create or migrate the schema and start serving; the other methods need it."""
        ...

    async def close(self) -> None: ...

    async def secret(self, name: str, factory_bytes: int = 32) -> bytes:
        """A named random secret, created once and then the same for every process of this store."""
        ...


class ApiStore(
    EventLog,
    IdempotencyRecords,
    SubscriptionStore,
    DeliveryReports,
    DeadLetterStore,
    DeadLetterRemoval,
    WriteHealth,
    DeliveryHistory,
    ReplayJobs,
    RegistryOutbox,
    EndpointHealth,
    ConnectorLeases,
    ReadHealth,
    Protocol,
):
    """What the API's routes use: everything but the delivery queue and housekeeping."""
