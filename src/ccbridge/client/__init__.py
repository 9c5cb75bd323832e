"""The Python client of the EventBridge API: works against any server of the API, not just ccbridge's.

    async with BridgeClient(ApiConfig(base_url=..., client_id=..., client_secret=...)) as client:
        result = await publish(client, "OrderCreated", data, config=publish_config)

It speaks only HTTP (no import of the server's `api`, `stores` or `delivery`); it checks declared
subscriptions with the same pure parser the server uses (`ccbridge.core.dialects`). Token caching,
retries with Retry-After, idempotency keys and correlation ids are handled below every call.
"""

from __future__ import annotations

from ccbridge.client.api import BridgeClient, Reply, canonical_json, correlation
from ccbridge.client.apply import ApplyReport, apply_plan
from ccbridge.client.auth import ClientCredentialsAuth
from ccbridge.client.batch import BatchResult, publish_lines
from ccbridge.client.config import (
    ApiConfig,
    AuditConfig,
    PublishConfig,
    PublishTypeConfig,
    RegistryConfig,
    client_settings,
)
from ccbridge.client.errors import (
    ApiAuthError,
    ApiConflictError,
    ApiError,
    ApiNotFoundError,
    ApiRequestError,
    ApiServerError,
    ApiValidationError,
    RateLimitExhausted,
)
from ccbridge.client.plan import Plan, idempotency_key, make_plan
from ccbridge.client.publish import PublishResult, event_key, publish
from ccbridge.client.retrying import RetryOptions, RetryTransport

__all__ = [
    "ApiAuthError",
    "ApiConfig",
    "ApiConflictError",
    "ApiError",
    "ApiNotFoundError",
    "ApiRequestError",
    "ApiServerError",
    "ApiValidationError",
    "ApplyReport",
    "AuditConfig",
    "BatchResult",
    "BridgeClient",
    "ClientCredentialsAuth",
    "Plan",
    "PublishConfig",
    "PublishResult",
    "PublishTypeConfig",
    "RateLimitExhausted",
    "RegistryConfig",
    "Reply",
    "RetryOptions",
    "RetryTransport",
    "apply_plan",
    "canonical_json",
    "client_settings",
    "correlation",
    "event_key",
    "idempotency_key",
    "make_plan",
    "publish",
    "publish_lines",
]
