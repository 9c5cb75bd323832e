"""`GET /api/v2/connectors`: each configured connector's state, from its lease row in the store.

The process holding a connector's lease stores the connector's status with every renewal, so any
replica answers the same. A connector nobody holds is `pending` (never taken yet), `stopped`
(released) or `unowned` (its holder stopped renewing: it crashed or lost the store, and another
replica takes over once the lease expires). Never a secret: statuses hold none, and URLs are masked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, schemas
from ccbridge.api.guard import READ, authorize
from ccbridge.api.http import json_response
from ccbridge.api.services import Services
from ccbridge.core.ports import ConnectorLease
from ccbridge.core.redact import mask_url
from ccbridge.core.times import iso_or_none

PATH = "/api/v2/connectors"
LIST = docs.Doc("Connector state (any replica answers)", schemas.ConnectorList, errors=docs.READS)


def configured(services: Services) -> list[tuple[str, str]]:
    """(name, kind) of every configured connector, in config order."""
    section = services.config.connectors
    return [(c.name, "genesys") for c in section.genesys] + [(c.name, "cxone") for c in section.cxone]


def render(name: str, kind: str, lease: ConnectorLease | None, now: float) -> dict[str, Any]:
    if lease is None:
        return {"name": name, "kind": kind, "state": "pending", "connected": False, "owner": None}
    status = {k: v for k, v in lease.status.items() if k not in ("name", "kind")}
    held = lease.owner is not None and lease.expires_at is not None and lease.expires_at > now
    if not held:
        status["state"] = "stopped" if lease.owner is None else "unowned"
    for key in ("coveredSince", "coveredUntil"):
        if isinstance(status.get(key), int | float):
            status[key] = iso_or_none(float(status[key]))
    if isinstance(status.get("apiUrl"), str):
        status["apiUrl"] = mask_url(status["apiUrl"])
    return {
        "name": name,
        "kind": kind,
        **status,
        "state": status.get("state", "connecting"),
        "connected": held and status.get("state") == "connected",
        "owner": lease.owner if held else None,
        "leaseExpiresAt": iso_or_none(lease.expires_at) if held else None,
        "updatedAt": iso_or_none(lease.updated_at),
    }


async def connector_entities(services: Services) -> list[dict[str, Any]]:
    """Every configured connector as the route answers it (empty without connectors: no store read)."""
    names = configured(services)
    if not names:
        return []
    rows = {lease.name: lease for lease in await services.store.connector_leases()}
    now = services.now()
    return [render(name, kind, rows.get(name), now) for name, kind in names]


class ConnectorRoutes:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def list_connectors(self, request: Request) -> Response:
        authorize(self.services, request, READ)
        entities = await connector_entities(self.services)
        return json_response({"entities": entities, "total": len(entities)})


def build_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["connectors"])
    docs.add(router, "GET", PATH, ConnectorRoutes(services).list_connectors, LIST)
    return router
