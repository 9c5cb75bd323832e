"""The request and response bodies of the API, as documentation for /openapi.json.

Why pydantic models that no handler uses: the handlers read raw bytes and validate with the core
parsers (`core.dialects`, `core.envelopes`), which report every field at fault in the API's own
problem+json shape, and the events route stays on its fast path without a per-request model. These
models only describe those bodies (`api.docs` wires them into each route's operation), so a client
generator or an API fuzzer sees what the handlers accept and answer. A body in either dialect is a
`oneOf` of the CXone and the Genesys model: their required fields differ and neither admits the
other's, so a valid body matches exactly one.

One module per resource (`subscriptions`, `subscription_ops`, `ingestion`, `deadletters`, `history`,
`replays`, `tokens`, `operations`, `problems`; `base` is what they build on). This package names
every model, so a route module reads `schemas.X`; `components()` is the document's
`components.schemas`: every public model of those modules, by name (a name is unique across them).
"""

from __future__ import annotations

from types import ModuleType

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ccbridge.api.schemas import (
    deadletters,
    history,
    ingestion,
    operations,
    problems,
    replays,
    subscription_ops,
    subscriptions,
    tokens,
)
from ccbridge.api.schemas.base import JSON, REF_TEMPLATE
from ccbridge.api.schemas.deadletters import DeadLetter, DeadLetterList, Purged, Replayed, ReplayRequest
from ccbridge.api.schemas.history import (
    AttemptList,
    AttemptRecord,
    DeliveryPage,
    DeliveryRecord,
    DeliveryStatusCounts,
    EventPage,
    EventWithDeliveries,
    StoredEvent,
)
from ccbridge.api.schemas.ingestion import (
    CxoneEvent,
    EventAccepted,
    EventBody,
    EventBridgeAccepted,
    EventBridgeAnswer,
    EventBridgeBatchAccepted,
    EventBridgeBody,
    EventBridgeDetail,
    EventBridgeEnvelope,
    GenesysEvent,
    InboundAccepted,
    InboundWebhook,
    IngestAccepted,
    LegacyEvent,
)
from ccbridge.api.schemas.operations import ConnectorList, ConnectorStatus, Status
from ccbridge.api.schemas.problems import FieldProblem, Problem
from ccbridge.api.schemas.replays import (
    ReplayCounts,
    ReplayJob,
    ReplayJobList,
    ReplayJobRequest,
    ReplayProgress,
)
from ccbridge.api.schemas.subscription_ops import (
    DeliveryCounts,
    DeliveryStatus,
    EndpointHealth,
    EndpointHealthList,
    SecretRotated,
    TestEventSent,
)
from ccbridge.api.schemas.subscriptions import (
    CxoneSubscription,
    CxoneSubscriptionResource,
    DeadLetterQueue,
    DeliveryConfig,
    Endpoint,
    FilterTriple,
    GenesysSubscription,
    GenesysSubscriptionResource,
    RetryConfiguration,
    Subscription,
    SubscriptionBody,
    SubscriptionList,
)
from ccbridge.api.schemas.tokens import OAuthError, Token, TokenRequest

RESOURCES: tuple[ModuleType, ...] = (
    subscriptions,
    subscription_ops,
    ingestion,
    deadletters,
    tokens,
    operations,
    problems,
    history,
    replays,
)
"""The modules whose public models `components()` documents."""


def _models(module: ModuleType) -> list[type[BaseModel]]:
    return [  # pydantic also files each `RootModel[...]` it builds there, under a name with brackets
        value
        for name, value in list(vars(module).items())
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == module.__name__
        and name.isidentifier()
        and not name.startswith("_")
    ]


def components() -> dict[str, JSON]:
    """The JSON Schema of every model of `RESOURCES`, keyed by name, for `components.schemas`."""
    models = [model for module in RESOURCES for model in _models(module)]
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF_TEMPLATE)
    return dict(top["$defs"])


__all__ = [
    "JSON",
    "REF_TEMPLATE",
    "AttemptList",
    "AttemptRecord",
    "ConnectorList",
    "ConnectorStatus",
    "CxoneEvent",
    "CxoneSubscription",
    "CxoneSubscriptionResource",
    "DeadLetter",
    "DeadLetterList",
    "DeadLetterQueue",
    "DeliveryConfig",
    "DeliveryCounts",
    "DeliveryPage",
    "DeliveryRecord",
    "DeliveryStatus",
    "DeliveryStatusCounts",
    "Endpoint",
    "EndpointHealth",
    "EndpointHealthList",
    "EventAccepted",
    "EventBody",
    "EventBridgeAccepted",
    "EventBridgeAnswer",
    "EventBridgeBatchAccepted",
    "EventBridgeBody",
    "EventBridgeDetail",
    "EventBridgeEnvelope",
    "EventPage",
    "EventWithDeliveries",
    "FieldProblem",
    "FilterTriple",
    "GenesysEvent",
    "GenesysSubscription",
    "GenesysSubscriptionResource",
    "InboundAccepted",
    "InboundWebhook",
    "IngestAccepted",
    "LegacyEvent",
    "OAuthError",
    "Problem",
    "Purged",
    "ReplayCounts",
    "ReplayJob",
    "ReplayJobList",
    "ReplayJobRequest",
    "ReplayProgress",
    "ReplayRequest",
    "Replayed",
    "RetryConfiguration",
    "SecretRotated",
    "Status",
    "StoredEvent",
    "Subscription",
    "SubscriptionBody",
    "SubscriptionList",
    "TestEventSent",
    "Token",
    "TokenRequest",
    "components",
]
