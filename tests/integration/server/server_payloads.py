"""Request bodies the server tests share (a module of its own: `conftest` names clash across folders)."""

from __future__ import annotations

from typing import Any


def cxone_subscription(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "contact-created-crm",
        "description": "CRM sync",
        "eventType": "contact.created",
        "filters": [{"field": "contact.channelType", "operator": "eq", "value": "voice"}],
        "endpoints": [{"url": "https://crm.example.com/hooks/contact", "type": "webhook"}],
        "deadLetterQueue": {"enabled": True, "endpointUrl": "https://dlq.example.com/in", "retentionDays": 7},
        "retryConfiguration": {
            "maxRetries": 3,
            "backoffStrategy": "exponential",
            "initialDelayMs": 100,
            "maxDelayMs": 1000,
        },
    }
    body.update(changes)
    return body


def genesys_subscription(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "interaction-completion-router",
        "eventTypes": ["routing:interaction:completed"],
        "deliveryConfig": {
            "deliveryType": "WEBHOOK",
            "url": "https://router.example.com/events",
            "headers": {"X-Genesys-Event-Signature": "required"},
        },
        "filter": "data.channel == 'voice'",
    }
    body.update(changes)
    return body


CXONE_EVENT: dict[str, Any] = {
    "eventType": "OrderCreated",
    "attributes": {"orderId": "o-1", "totalAmount": 10},
    "timestamp": "2026-11-24T10:00:00.000Z",
}
GENESYS_EVENT: dict[str, Any] = {
    "eventType": "custom.legacy.orders.order_created",
    "eventTime": "2026-11-24T10:00:00Z",
    "source": {"system": "legacy-ordering-platform", "version": "2.1.0"},
    "data": {"transaction_id": "t-1"},
}
