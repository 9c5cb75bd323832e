"""Fixtures: a real server over loopback HTTP with a real SQLite file, and an authenticated client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ccbridge.testing.server import RunningServer, running_server


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    async with running_server() as srv:
        yield srv


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = await server.token()
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


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
