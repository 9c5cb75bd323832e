"""Liveness, readiness and Prometheus metrics (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from ccbridge.api import docs, schemas
from ccbridge.api.connectors import connector_entities
from ccbridge.api.http import json_response
from ccbridge.api.services import Services

HEALTHZ = docs.Doc("Liveness", schemas.Status)
READYZ = docs.Doc(
    "Readiness: 503 while starting or stopping, or while the store cannot write",
    schemas.Status,
    extra=((503, schemas.Status),),
)
METRICS = docs.Doc("Prometheus metrics", None, text=True)


class OpsRoutes:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def healthz(self) -> Response:
        return json_response({"status": "ok"})

    async def readyz(self) -> Response:
        """503 while starting or stopping, and while the store cannot write (with the reason)."""
        problem = await self.services.readiness.problem(self.services.store)
        if problem is None:
            return json_response({"status": "ready"})
        if problem == "starting":
            return json_response({"status": "starting"}, 503)
        return json_response({"status": "unavailable", "reason": problem}, 503)

    async def metrics(self) -> Response:
        """The store's backlog is read per scrape: it is the one figure no counter in memory knows."""
        metrics = self.services.metrics
        metrics.observe_backlog(await self.services.store.backlog(), self.services.now())
        metrics.observe_connectors(await connector_entities(self.services))
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


def build_router(services: Services) -> APIRouter:
    routes = OpsRoutes(services)
    router = APIRouter(tags=["operations"])
    docs.add(router, "GET", "/healthz", routes.healthz, HEALTHZ)
    docs.add(router, "GET", "/readyz", routes.readyz, READYZ)
    docs.add(router, "GET", "/metrics", routes.metrics, METRICS)
    return router
