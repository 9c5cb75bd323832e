"""The ports: the small protocols the core needs from the outside world, each with its contract.

Adapters live in `stores/` and `endpoints/`; `bootstrap.py` constructs them and everything else is
typed against the protocol it uses, imported from this package (`from ccbridge.core.ports import
X`) rather than from the module that defines it. One module per job, each stating its ports'
contracts (a new port goes in the module of its job, or a new one, and is exported here):

* `clock` — `Clock`; `endpoint` — `Endpoint` and the `Attempt` it sends;
* `events` — `EventLog`, `IdempotencyRecords` (stored API answers) and the `Router` they route with;
* `subscriptions` — `SubscriptionStore`;
* `deliveries` — `DeliveryQueue` (the outbox: lease, renew, settle, release) and `DeliveryReports`;
* `deadletters` — `DeadLetterStore` and `DeadLetterRemoval`;
* `housekeeping` — `Housekeeping` (retention); `readiness` — `WriteHealth` and `ReadHealth`;
* `history` — `DeliveryHistory` with its records, queries and pages; `replays` — `ReplayJobs`;
* `registry_outbox`, `endpoint_health`, `connector_leases`, `rate_limits` — one port each;
* `store` — `Store`, all of them plus a lifecycle, which is what a backend implements and what
  `tests/contract/` holds every backend to; and `ApiStore`, the part the API's routes use.

Shared by every store: a method that returns has committed durably (fsync'd or the database's
equivalent); writes are serialized, so a write sees every write that returned before it began.
Every method is a coroutine unless said otherwise, safe to call from many tasks, and never blocks
the event loop.

Records come before the protocols that use them: a module imports only modules of records it needs
(`deliveries` from `history`, `endpoint_health` from `deliveries`, ...) and `store` imports the
protocols, so there is no cycle.
"""

from ccbridge.core.ports.clock import Clock
from ccbridge.core.ports.connector_leases import ConnectorLease, ConnectorLeases
from ccbridge.core.ports.deadletters import DeadLetter, DeadLetterRemoval, DeadLetterStore
from ccbridge.core.ports.deliveries import Backlog, DeliveryCounts, DeliveryQueue, DeliveryReports, Settlement
from ccbridge.core.ports.endpoint import Attempt, Endpoint
from ccbridge.core.ports.endpoint_health import EndpointHealth
from ccbridge.core.ports.events import AppendResult, EventLog, IdempotencyRecords, IdempotentRecord, Router
from ccbridge.core.ports.history import (
    AttemptDetail,
    AttemptOutcome,
    AttemptRecord,
    DeliveryHistory,
    DeliveryPage,
    DeliveryQuery,
    DeliveryRecord,
    DeliveryStatus,
    EventPage,
    EventQuery,
    EventRecord,
)
from ccbridge.core.ports.housekeeping import Housekeeping
from ccbridge.core.ports.rate_limits import RateLimits
from ccbridge.core.ports.readiness import ReadHealth, WriteHealth
from ccbridge.core.ports.registry_outbox import RegistryOutbox
from ccbridge.core.ports.replays import ReplayJob, ReplayJobs, ReplayRoute, ReplaySpec, ReplayState
from ccbridge.core.ports.store import ApiStore, Store
from ccbridge.core.ports.subscriptions import SubscriptionStore

__all__ = [
    "ApiStore",
    "AppendResult",
    "Attempt",
    "AttemptDetail",
    "AttemptOutcome",
    "AttemptRecord",
    "Backlog",
    "Clock",
    "ConnectorLease",
    "ConnectorLeases",
    "DeadLetter",
    "DeadLetterRemoval",
    "DeadLetterStore",
    "DeliveryCounts",
    "DeliveryHistory",
    "DeliveryPage",
    "DeliveryQuery",
    "DeliveryQueue",
    "DeliveryRecord",
    "DeliveryReports",
    "DeliveryStatus",
    "Endpoint",
    "EndpointHealth",
    "EventLog",
    "EventPage",
    "EventQuery",
    "EventRecord",
    "Housekeeping",
    "IdempotencyRecords",
    "IdempotentRecord",
    "RateLimits",
    "ReadHealth",
    "RegistryOutbox",
    "ReplayJob",
    "ReplayJobs",
    "ReplayRoute",
    "ReplaySpec",
    "ReplayState",
    "Router",
    "Settlement",
    "Store",
    "SubscriptionStore",
    "WriteHealth",
]
