"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from ccbridge.api.http import json_response
from ccbridge.api.services import Services


def build_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["operations"])

    async def healthz() -> Response:
        return json_response({"status": "ok"})

    async def readyz() -> Response:
        ready = services.readiness.ready
        return json_response({"status": "ready" if ready else "starting"}, 200 if ready else 503)

    async def metrics() -> Response:
        """The store's backlog is read per scrape: it is the one figure no counter in memory knows."""
        services.metrics.observe_backlog(await services.store.backlog(), services.now())
        return Response(services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    router.add_api_route("/healthz", healthz, methods=["GET"], summary="Liveness")
    router.add_api_route("/readyz", readyz, methods=["GET"], summary="Readiness")
    router.add_api_route("/metrics", metrics, methods=["GET"], summary="Prometheus metrics")
    return router
