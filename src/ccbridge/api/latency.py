"""Ingest-to-ack latency: how long a route that takes events needs to answer 2xx (the event stored)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import Histogram
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Awaitable[Response]]


def timed(histogram: Histogram, route: str, handler: Handler) -> Handler:
    """`handler`, observing into `histogram{route}` the seconds to each 2xx answer (refusals are not
    acknowledgements, and are counted by the routes' own counters)."""
    series = histogram.labels(route)

    async def answer(request: Request) -> Response:
        started = time.perf_counter()
        response = await handler(request)
        if 200 <= response.status_code < 300:
            series.observe(time.perf_counter() - started)
        return response

    return answer
