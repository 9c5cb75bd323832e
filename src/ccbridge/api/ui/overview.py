"""The overview page: traffic of the last hour, the store's backlog and lag, dead letters waiting and
the subscriptions in trouble.

Traffic comes from this process's counters (`observability.history`), the rest from the store,
read at every render. A subscription is in trouble when its delivery state (as delivery-status
answers it) is not "active" or it has dead letters waiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ccbridge.api.ui.charts import Series, bars
from ccbridge.api.ui.web import Dashboard
from ccbridge.core.event import Subscription
from ccbridge.core.health import delivery_state
from ccbridge.core.ports import DeliveryCounts
from ccbridge.core.redact import mask_text

DEAD_LETTER_SCAN = 1000
"""Dead letters counted at most; beyond it the page says "1000+"."""


@dataclass(frozen=True, slots=True)
class Trouble:
    subscription: Subscription
    state: str
    counts: DeliveryCounts
    last_error: str | None


def latency(bound: float | None) -> str:
    """A histogram bucket bound as text: the quantile is at most this."""
    if bound is None:
        return "–"
    if math.isinf(bound):
        return "> 10 s"
    return f"≤ {bound * 1000:.0f} ms" if bound < 1 else f"≤ {bound:g} s"


def _clock(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%H:%M")


async def troubled(dashboard: Dashboard, now: float) -> list[Trouble]:
    """Every subscription in trouble, failing ones first."""
    store = dashboard.services.store
    found = []
    for sub in await store.list_subscriptions():
        counts = await store.delivery_counts(sub.id)
        state = delivery_state(counts, now)
        if state != "active" or counts.dead_lettered:
            error = mask_text(counts.last_error) if counts.last_error else None
            found.append(Trouble(sub, state, counts, error))
    order = {"failing": 0, "degraded": 1, "active": 2}
    return sorted(found, key=lambda t: order[t.state])


class OverviewRoutes:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    async def show(self, request: Request) -> Response:
        session = self.dashboard.viewer(request)
        services = self.dashboard.services
        now = services.now()
        services.history.observe(services.metrics, now)
        minutes = services.history.minutes(now)
        labels = [_clock(m.minute) + " UTC" for m in minutes]
        traffic_in = bars(
            [(m.events_in,) for m in minutes],
            (Series("events in", "in"),),
            labels,
            title="Events in per minute",
        )
        traffic_out = bars(
            [(m.delivered, m.failed) for m in minutes],
            (Series("delivered", "ok"), Series("failed or retried", "bad")),
            labels,
            title="Delivery attempts per minute",
        )
        window = services.history.window(now)
        backlog = await services.store.backlog()
        lag = 0.0 if backlog.oldest_due is None else max(0.0, now - backlog.oldest_due)
        dead = len(await services.store.list_dead_letters(None, DEAD_LETTER_SCAN + 1))
        return self.dashboard.render(
            "overview.html",
            title="Overview",
            active="overview",
            session=session,
            window=window,
            p50=latency(window.p50),
            p99=latency(window.p99),
            traffic_in=traffic_in,
            traffic_out=traffic_out,
            backlog=backlog,
            lag=lag,
            dead=dead,
            dead_capped=dead > DEAD_LETTER_SCAN,
            dead_scan=DEAD_LETTER_SCAN,
            troubled=await troubled(self.dashboard, now),
        )


def routes(dashboard: Dashboard) -> list[Route]:
    return [Route("/", OverviewRoutes(dashboard).show, methods=["GET"])]
