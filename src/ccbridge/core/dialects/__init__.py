"""The two subscription dialects at the edge: CXone and Genesys bodies <-> Subscription.

CXone (seed 001): `{name, description, eventType, filters, endpoints, deadLetterQueue,
retryConfiguration}`. Genesys (seed 002): `{name, description, eventTypes, deliveryConfig, filter,
deadLetterQueue, retryConfiguration}`, where `deliveryConfig` is one target or a list of them (seed
002's fan-out to several gRPC consumers is one subscription). A target (a CXone endpoint, a Genesys
`deliveryConfig` entry) may carry its own `retryConfiguration`, which replaces the subscription's for
it. The targets of one Genesys subscription send the same `headers` (the subscription's).
Both may carry `pattern` (an EventBridge pattern), `labels` (a string map; `managed-by` marks what a
declarative apply owns) and `secret` (`whsec_...`; generated when absent).

Contract:
* `validate_subscription` is the one check of a body. It is pure (no id, clock, secret generation
  or store), so the server's create and replace and the client's plan call the same function and
  refuse exactly the same bodies. It raises `InputError` listing every field at fault by its path
  (`endpoints[1].url`, `deliveryConfig.deliveryType`, `filters[0].operator`).
* Endpoint types and their URL schemes are ARCHITECTURE.md's in both dialects: `webhook` (http,
  https), `grpc` (grpc, grpcs), `queue` (nats, tls, amqp), `cxone-signal` (cxone, in the form of
  `core.signal_urls`). Genesys names the type in `deliveryType` (`WEBHOOK`, `GRPC`, `QUEUE`,
  `CXONE_SIGNAL` or `CXONE-SIGNAL`, any case), CXone in each endpoint's `type` (default `webhook`).
  A signal URL must name a connector in `Limits.cxone_connectors` when that is given (the server
  gives the configured names; a client checking a plan offline does not know them).
* `parse_subscription` adds what the server assigns: the id, the dates, and a secret when none was
  given (a replace keeps the existing one).
* `render_subscription` answers with the body as sent (normalized) plus `SERVER_FIELDS`. A body may
  carry those fields, so a fetched resource can be sent back; they are ignored. A plan ignores them
  when it compares a declaration with the server's resource.
* Credentials are never answered (`core.redact`): `core.subscription_masks.mask_body` masks the endpoint URLs' credentials
  (`endpoints[].url`, `deadLetterQueue.endpointUrl`, `deliveryConfig.url`) and the sensitive
  `deliveryConfig.headers`, for every caller, the create answer too. A replace that sends a masked
  value back keeps the stored one (`core.subscription_masks.restore_masked`), so a fetched resource can be sent back
  without losing its credentials; a masked value with nothing stored behind it is refused.

Layout: `subscription` (the entry points above), `cxone` and `genesys` (each dialect's own fields),
`targets` (what both write alike: target URLs, rate limits, retry and dead-letter settings),
`filters` (the three filter forms compiled to one pattern), `spec` (the dialect-neutral forms).
This package names everything callers use, so `ccbridge.core.dialects.X` is the import path.
"""

from __future__ import annotations

from ccbridge.core.dialects.cxone import CXONE_FIELDS
from ccbridge.core.dialects.genesys import GENESYS_FIELDS, GENESYS_TARGET_FIELDS
from ccbridge.core.dialects.spec import SERVER_FIELDS, FilterKind, Limits, SubscriptionSpec
from ccbridge.core.dialects.subscription import (
    detect_dialect,
    parse_subscription,
    render_subscription,
    validate_subscription,
)
from ccbridge.core.dialects.targets import ENDPOINT_SCHEMES, MAX_RATE_LIMIT, render_retry

__all__ = [
    "CXONE_FIELDS",
    "ENDPOINT_SCHEMES",
    "GENESYS_FIELDS",
    "GENESYS_TARGET_FIELDS",
    "MAX_RATE_LIMIT",
    "SERVER_FIELDS",
    "FilterKind",
    "Limits",
    "SubscriptionSpec",
    "detect_dialect",
    "parse_subscription",
    "render_retry",
    "render_subscription",
    "validate_subscription",
]
