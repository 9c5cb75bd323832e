"""The files and config the demo's server starts with: schemas, the legacy system's public key, the
inbound secret, the declared subscriptions and the `ingest:` section.

Written into the run's temporary folder before start, since the config names them by relative path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccbridge.demo.context import FAST_RETRY, INBOUND_SECRET, JSON, REGISTRY_SECRET
from ccbridge.errors import ConfigError
from ccbridge.ingest import compile_ingest
from ccbridge.ingest.testing import LegacyIssuer, orders_source
from ccbridge.testing import WebhookReceiver

ORDER_SCHEMA = """{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["orderId", "customerId", "totalAmount", "currency", "timestamp"],
  "properties": {
    "orderId": {"type": "string", "pattern": "^ORD-[0-9]{10}$"},
    "customerId": {"type": "string", "minLength": 1},
    "totalAmount": {"type": "number", "minimum": 0},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "email": {"type": "string", "format": "email"},
    "timestamp": {"type": "string", "format": "date-time"}
  },
  "additionalProperties": false
}
"""
LEGACY_ORDER_SCHEMA = """{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["transaction_id", "event_type", "amount", "currency", "timestamp"],
  "properties": {
    "transaction_id": {"type": "string", "minLength": 1},
    "amount": {"type": "number", "minimum": 0},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}
  }
}
"""
KEY_FILE = "keys/legacy-erp.pem"


def write_files(folder: Path, issuer: LegacyIssuer) -> None:
    for relative, text in (
        ("schemas/order_created.schema.json", ORDER_SCHEMA),
        ("schemas/legacy-order.json", LEGACY_ORDER_SCHEMA),
    ):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    issuer.write_pem(folder / KEY_FILE)


def declared_subscriptions(hooks: dict[str, WebhookReceiver]) -> list[JSON]:
    """What `subscriptions plan/apply` should bring about (both on OrderCreated, one filtered)."""
    return [
        {
            "name": "orders-feed",
            "description": "every order, to the fulfilment system",
            "eventType": "OrderCreated",
            "endpoints": [{"url": hooks["orders"].url, "type": "webhook"}],
            "retryConfiguration": FAST_RETRY,
        },
        {
            "name": "big-orders",
            "description": "orders over 1000, to sales",
            "eventType": "OrderCreated",
            "pattern": {"data": {"totalAmount": [{"numeric": [">", 1000]}]}},
            "endpoints": [{"url": hooks["big"].url, "type": "webhook"}],
            "retryConfiguration": FAST_RETRY,
        },
    ]


def ingest_section() -> JSON:
    """Seed 003's example section, with the demo's one key file."""
    return {
        "jwt": {
            "public_key_files": [KEY_FILE],
            "issuer": "legacy-erp",
            "audience": "ccbridge",
            "algorithms": ["ES256"],
            "leeway_seconds": 30,
        },
        "sources": [orders_source()],
    }


def overrides(folder: Path, hooks: dict[str, WebhookReceiver]) -> tuple[dict[str, Any], str | None]:
    """The server's config on top of `running_server`'s defaults, and why `ingest` was left out (if it was).

    The ingest section is compiled here first: a mistake in it must fail step 8, not the whole run."""
    config: dict[str, Any] = {
        "logging": {"level": "error"},
        "inbound": {"secrets": [INBOUND_SECRET]},
        "audit": {"path": str(folder / "audit.jsonl")},
        "publish": {
            "event_types": {
                "OrderCreated": {"schema": "schemas/order_created.schema.json", "business_key": "orderId"}
            }
        },
        "subscriptions": declared_subscriptions(hooks),
        "registry": {
            "webhook_url": hooks["registry"].url,
            "secret": REGISTRY_SECRET,
            "state_poll_seconds": 0.05,
        },
    }
    hooks["registry"].secrets = [REGISTRY_SECRET]
    section = ingest_section()
    try:
        compile_ingest(section, str(folder))
    except ConfigError as exc:
        return config, f"ingest section rejected: {exc}"
    config["ingest"] = section
    return config, None
