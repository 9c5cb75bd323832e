"""Shared pieces of the gateway's integration tests: the config section, a sample order, a JWKS server."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ccbridge.ingest import IngestGateway
from ccbridge.ingest.testing import LegacyIssuer, MemoryAppend, orders_source

ORDER_SCHEMA = """{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["transaction_id", "event_type", "amount", "currency", "timestamp"],
  "properties": {
    "transaction_id": {"type": "string", "minLength": 1},
    "amount": {"type": "number", "minimum": 0},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "email": {"type": "string", "format": "email"}
  }
}"""


def section(jwks_url: str | None = None, **jwt: Any) -> dict[str, Any]:
    """The issue's `ingest:` section (keys erp-ec, erp-ec384, erp-rsa), plus a catch-all `misc` source."""
    return {
        "jwt": {
            "public_key_files": []
            if jwks_url
            else ["keys/erp-ec.pem", "keys/erp-ec384.pem", "keys/erp-rsa.pem"],
            "jwks_url": jwks_url,
            "issuer": "legacy-erp",
            "audience": "ccbridge",
            "leeway_seconds": 30,
            "jwks_min_refresh_seconds": 60,
            **jwt,
        },
        "sources": [
            orders_source(),
            {
                "name": "misc",
                "match": {"kind": ["note"]},
                "mapping": {
                    "event_type": "custom.legacy.misc.note",
                    "event_time": {"field": "at"},
                    "data": {"text": "text"},
                },
            },
        ],
    }


ORDER: dict[str, Any] = {
    "transaction_id": "T-1001",
    "event_type": "order_created",
    "amount": 129.5,
    "currency": "EUR",
    "timestamp": "2024-05-01T14:00:00+02:00",
}


@dataclass
class JwksServer:
    """A JWKS document on 127.0.0.1 whose keys, status and latency the test controls; counts fetches."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    hits: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.Response(status=self.status, text="down")
        return web.json_response({"keys": copy.deepcopy(self.keys)})


@dataclass
class Issuers:
    """The legacy system's three signing keys, matching keys/erp-ec.pem, erp-ec384.pem and erp-rsa.pem."""

    ec: LegacyIssuer
    ec384: LegacyIssuer
    rsa: LegacyIssuer


@dataclass
class Harness:
    gateway: IngestGateway
    store: MemoryAppend


MakeGateway = Callable[..., Awaitable[Harness]]
