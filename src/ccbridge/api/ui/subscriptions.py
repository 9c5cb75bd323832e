"""The subscriptions pages: the list with each one's delivery state, breaker states and success rate,
and one subscription's page with its filter, figures, its endpoints with their breakers (and, for a
writer, enable/disable, rotate secret, send test event: `endpoints.py`), its recent deliveries,
recent dead letters and the pattern tester.

The success rate is of settled deliveries: delivered / (delivered + dead-lettered), None before
any settled. Endpoint URLs are shown masked (`core.redact`) and header values never.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ccbridge.api.deadletters import render as render_letter
from ccbridge.api.endpoint_health import render_endpoint
from ccbridge.api.history import render_delivery
from ccbridge.api.subscriptions import render_status
from ccbridge.api.ui import tester
from ccbridge.api.ui.endpoints import endpoint_message
from ccbridge.api.ui.session import Session
from ccbridge.api.ui.timefields import shown
from ccbridge.api.ui.web import Dashboard
from ccbridge.core.endpoint_health import HealthRecord
from ccbridge.core.event import Subscription
from ccbridge.core.ports import DeliveryCounts, DeliveryQuery
from ccbridge.core.redact import mask_url
from ccbridge.errors import NotFoundError

RECENT_DEAD = 10
RECENT_DELIVERIES = 20


@dataclass(frozen=True, slots=True)
class Row:
    subscription: Subscription
    status: dict[str, Any]
    success_rate: float | None
    endpoints: tuple[tuple[str, str], ...]
    health: tuple[dict[str, Any], ...] = ()
    """Each endpoint as `api.endpoint_health.render_endpoint` shows it (index, masked url, breaker)."""


def success_rate(counts: DeliveryCounts) -> float | None:
    settled = counts.delivered + counts.dead_lettered
    return counts.delivered / settled if settled else None


def _pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


class SubscriptionPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.store = dashboard.services.store

    async def _row(
        self, sub: Subscription, now: float, records: dict[str, HealthRecord] | None = None
    ) -> Row:
        counts = await self.store.delivery_counts(sub.id)
        endpoints = tuple((mask_url(e.url), e.type) for e in sub.endpoints)
        if records is None:
            records = {r.url: r for r in await self.store.endpoint_health(sub.id)}
        health = tuple(render_endpoint(i, e, records.get(e.url)) for i, e in enumerate(sub.endpoints))
        return Row(sub, render_status(sub, counts, now), success_rate(counts), endpoints, health)

    async def list_all(self, request: Request) -> Response:
        session = self.dashboard.viewer(request)
        now = self.dashboard.services.now()
        records: dict[str, dict[str, HealthRecord]] = {}
        for r in await self.store.endpoint_health():
            records.setdefault(r.subscription_id, {})[r.url] = r
        rows = [await self._row(s, now, records.get(s.id, {})) for s in await self.store.list_subscriptions()]
        return self.dashboard.render(
            "subscriptions.html", title="Subscriptions", active="subscriptions", session=session, rows=rows
        )

    async def _get(self, sub_id: str) -> Subscription:
        sub = await self.store.get_subscription(sub_id)
        if sub is None:
            raise NotFoundError(f"no subscription with id {sub_id}")
        return sub

    async def _page(
        self,
        session: Session,
        sub: Subscription,
        event_text: str,
        verdict: tester.Verdict | None,
        message: str | None = None,
    ) -> Response:
        now = self.dashboard.services.now()
        letters = await self.store.list_dead_letters(sub.id, RECENT_DEAD)
        recent = await self.store.list_deliveries(DeliveryQuery(sub.id, limit=RECENT_DELIVERIES))
        return self.dashboard.render(
            "subscription.html",
            title=sub.name,
            active="subscriptions",
            session=session,
            row=await self._row(sub, now),
            filter_source=None if sub.filter_source is None else _pretty(sub.filter_source),
            pattern=None if not sub.pattern else _pretty(sub.pattern),
            letters=[render_letter(d) for d in letters],
            event_text=event_text,
            verdict=verdict,
            deliveries=[{**render_delivery(d), "updated": shown(d.updated_at)} for d in recent.items],
            message=message,
        )

    async def show(self, request: Request) -> Response:
        session = self.dashboard.viewer(request)
        sub = await self._get(request.path_params["sub_id"])
        sample = tester.sample_body(sub, self.dashboard.services.now())
        return await self._page(
            session, sub, sample, None, endpoint_message(request.query_params.get("done"))
        )

    async def test_pattern(self, request: Request) -> Response:
        """A read: any viewer may run it (the form is still CSRF-checked, as every POST is)."""
        session, form = await self.dashboard.checked_form(request)
        sub = await self._get(request.path_params["sub_id"])
        services = self.dashboard.services
        text = str(form.get("event", ""))
        verdict = tester.try_event(sub, text, services.config.event_type_known, services.now())
        if request.headers.get("hx-request"):
            return self.dashboard.render(
                "_verdict.html", session=session, verdict=verdict, row=await self._row(sub, services.now())
            )
        return await self._page(session, sub, text, verdict)


def routes(dashboard: Dashboard) -> list[Route]:
    pages = SubscriptionPages(dashboard)
    return [
        Route("/subscriptions", pages.list_all, methods=["GET"]),
        Route("/subscriptions/{sub_id}", pages.show, methods=["GET"]),
        Route("/subscriptions/{sub_id}/test-pattern", pages.test_pattern, methods=["POST"]),
    ]
