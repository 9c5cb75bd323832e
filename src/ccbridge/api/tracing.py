"""The ingest and store-commit spans around storing one event, shared by the routes that take events.

The event carries the ingest span's `traceparent` when tracing is on (so each delivery's span, and
the consumer, join the caller's trace below ingest), else the caller's well-formed `traceparent`
unchanged, else none (`core.tracecontext`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from ccbridge.api.services import Services
from ccbridge.core.event import Event
from ccbridge.core.ports import AppendResult
from ccbridge.core.tracecontext import valid_traceparent
from ccbridge.observability.tracing import NoTracing, Tracing

Build = Callable[[dict[str, str]], Event]


async def store_traced(services: Services, request: Request, route: str, build: Build) -> AppendResult:
    """`build(trace metadata)` the event inside an `ingest` span and append it in a `store commit` span."""
    given = valid_traceparent(request.headers.get("traceparent"))
    with services.tracing.span("ingest", parent=given, attributes={"http.route": route}) as span:
        trace = span.traceparent() or given
        event = build({"traceparent": trace} if trace else {})
        span.set("ccbridge.event_type", event.type)
        result = await traced_append(services.tracing, services.store.append_event)(event)
        span.set("ccbridge.event_id", result.event.id)
        span.set("ccbridge.duplicate", not result.created)
        return result


def traced_append(
    tracing: Tracing, append: Callable[[Event], Awaitable[AppendResult]]
) -> Callable[[Event], Awaitable[AppendResult]]:
    """`append` inside a `store commit` span (a child of the span current when it is called);
    `append` itself when tracing is off."""
    if isinstance(tracing, NoTracing):
        return append

    async def traced(event: Event) -> AppendResult:
        with tracing.span("store commit", attributes={"ccbridge.event_type": event.type}):
            return await append(event)

    return traced
