"""Events, deliveries and attempts as recorded, and retrying one delivery:

    GET  /api/v2/eventbridge/events?type=&from=&to=&subscription=&limit=&cursor=   {items, nextCursor}
    GET  /api/v2/eventbridge/events/{id}                                         the event + its deliveries
    GET  /api/v2/eventbridge/subscriptions/{id}/deliveries?status=&from=&to=&limit=&cursor=
    GET  /api/v2/eventbridge/deliveries/{id}                                     one delivery
    GET  /api/v2/eventbridge/deliveries/{id}/attempts                            {items}
    POST /api/v2/eventbridge/deliveries/{id}/retry                               202 + the delivery

Reads need the read scope, a retry the write scope. Times are RFC 3339 in and out (the store keeps
epoch seconds); `from` is inclusive and `to` exclusive. A cursor is opaque: the `nextCursor` of the
page before. Endpoint URLs are masked (`core.redact`), in error texts too.
"""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, schemas
from ccbridge.api.audit import audit
from ccbridge.api.guard import READ, WRITE, authorize
from ccbridge.api.history_params import cursor_param, delivery_id, limit_param, time_param
from ccbridge.api.http import json_response
from ccbridge.api.services import Services
from ccbridge.core.event import Event
from ccbridge.core.ports import (
    AttemptRecord,
    DeliveryQuery,
    DeliveryRecord,
    DeliveryStatus,
    EventQuery,
    EventRecord,
)
from ccbridge.core.redact import mask_text, mask_url
from ccbridge.core.times import iso, iso_or_none
from ccbridge.errors import FieldError, Malformed, NotFoundError

EVENTS = "/api/v2/eventbridge/events"
DELIVERIES = "/api/v2/eventbridge/deliveries"
SUB_DELIVERIES = "/api/v2/eventbridge/subscriptions/{subscription_id}/deliveries"
STATUSES: tuple[str, ...] = get_args(DeliveryStatus)
PAGED = (("limit", "integer"), ("cursor", "string"), ("from", "string"), ("to", "string"))
READ_ERRORS = (*docs.READS, 400)
BY_ID = (*docs.READS, 404, 422)  # 422: a delivery id that is not an integer

SEARCH = docs.Doc(
    "Search stored events, newest first",
    schemas.EventPage,
    errors=READ_ERRORS,
    query=(("type", "string"), ("subscription", "string"), *PAGED),
)
SHOW = docs.Doc("An event and its deliveries", schemas.EventWithDeliveries, errors=(*docs.READS, 404))
LIST = docs.Doc(
    "A subscription's deliveries, newest first",
    schemas.DeliveryPage,
    errors=(*READ_ERRORS, 404),
    query=(("status", "string"), *PAGED),
)
ONE = docs.Doc("One delivery", schemas.DeliveryRecord, errors=BY_ID)
ATTEMPTS = docs.Doc("A delivery's attempts, oldest first", schemas.AttemptList, errors=BY_ID)
RETRY = docs.Doc(
    "Queue a dead or delivered delivery again, due now",
    schemas.DeliveryRecord,
    status=202,
    errors=(*BY_ID, 409, 503),
)


def render_event(event: Event, received_ts: float) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "time": event.time,
        "receivedAt": iso(received_ts),
        "dialect": event.dialect,
        "correlationId": event.correlation_id,
        "data": event.data,
        "metadata": event.metadata,
    }


def render_record(record: EventRecord) -> dict[str, Any]:
    counts = {status: record.deliveries.get(status, 0) for status in STATUSES}
    return {**render_event(record.event, record.received_ts), "deliveryCounts": counts}


def render_delivery(d: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": d.id,
        "eventId": d.event_id,
        "eventType": d.event_type,
        "subscriptionId": d.subscription_id,
        "endpointUrl": mask_url(d.endpoint_url),
        "endpointType": d.endpoint_type,
        "kind": d.kind,
        "status": d.status,
        "attempts": d.attempts,
        "lastStatus": d.last_status,
        "lastError": None if d.last_error is None else mask_text(d.last_error),
        "nextAttemptAt": iso_or_none(d.next_attempt_at),
        "createdAt": iso(d.created_at),
        "updatedAt": iso(d.updated_at),
    }


def render_attempt(a: AttemptRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "deliveryId": a.delivery_id,
        "attempt": a.attempt,
        "at": iso(a.at),
        "endpointUrl": mask_url(a.endpoint_url),
        "endpointType": a.endpoint_type,
        "outcome": a.outcome,
        "status": a.status,
        "latencyMs": a.latency_ms,
        "responseBody": None if a.response_body is None else mask_text(a.response_body),
        "error": None if a.error is None else mask_text(a.error),
        "errorClass": a.error_class,
    }


def _page(items: list[dict[str, Any]], next_cursor: int | None) -> dict[str, Any]:
    return {"items": items, "nextCursor": None if next_cursor is None else str(next_cursor)}


class HistoryRoutes:
    """The handlers, bound to the services they use."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store

    async def search(self, request: Request) -> Response:
        authorize(self.services, request, READ)
        q = request.query_params
        query = EventQuery(
            type=q.get("type") or None,
            from_ts=time_param(q.get("from"), "from"),
            to_ts=time_param(q.get("to"), "to"),
            subscription_id=q.get("subscription") or None,
            limit=limit_param(q.get("limit")),
            cursor=cursor_param(q.get("cursor")),
        )
        page = await self.store.search_events(query)
        return json_response(_page([render_record(r) for r in page.items], page.next_cursor))

    async def show(self, request: Request, event_id: str) -> Response:
        authorize(self.services, request, READ)
        found = await self.store.event_with_deliveries(event_id)
        if found is None:
            raise NotFoundError(f"no stored event with id {event_id}")
        record, deliveries = found
        return json_response(
            {**render_record(record), "deliveries": [render_delivery(d) for d in deliveries]}
        )

    async def deliveries(self, request: Request, subscription_id: str) -> Response:
        authorize(self.services, request, READ)
        q = request.query_params
        status = q.get("status") or None
        if status is not None and status not in STATUSES:
            raise Malformed(FieldError("status", f"must be one of {', '.join(STATUSES)}"))
        query = DeliveryQuery(
            subscription_id,
            status=status,  # type: ignore[arg-type]  # checked against STATUSES above
            from_ts=time_param(q.get("from"), "from"),
            to_ts=time_param(q.get("to"), "to"),
            limit=limit_param(q.get("limit")),
            cursor=cursor_param(q.get("cursor")),
        )
        page = await self.store.list_deliveries(query)
        if (
            not page.items
            and query.cursor is None
            and await self.store.get_subscription(subscription_id) is None
        ):
            raise NotFoundError(f"no subscription with id {subscription_id}")
        return json_response(_page([render_delivery(d) for d in page.items], page.next_cursor))

    async def one(self, request: Request, delivery: int) -> Response:
        authorize(self.services, request, READ)
        record = await self.store.get_delivery(delivery_id(delivery))
        if record is None:
            raise NotFoundError(f"no delivery with id {delivery}")
        return json_response(render_delivery(record))

    async def attempts(self, request: Request, delivery: int) -> Response:
        authorize(self.services, request, READ)
        records = await self.store.delivery_attempts(delivery_id(delivery))
        if records is None:
            raise NotFoundError(f"no delivery with id {delivery}")
        return json_response({"items": [render_attempt(a) for a in records]})

    async def retry(self, request: Request, delivery: int) -> Response:
        principal = authorize(self.services, request, WRITE)
        record = await self.store.retry_delivery(delivery_id(delivery))
        audit(
            self.services,
            request,
            principal,
            "retry-delivery",
            subscription_id=record.subscription_id,
            status=202,
        )
        return json_response(render_delivery(record), 202)


def build_router(services: Services) -> APIRouter:
    routes = HistoryRoutes(services)
    router = APIRouter(tags=["events and deliveries"])
    docs.add(router, "GET", EVENTS, routes.search, SEARCH)
    docs.add(router, "GET", EVENTS + "/{event_id}", routes.show, SHOW)
    docs.add(router, "GET", SUB_DELIVERIES, routes.deliveries, LIST)
    docs.add(router, "GET", DELIVERIES + "/{delivery}", routes.one, ONE)
    docs.add(router, "GET", DELIVERIES + "/{delivery}/attempts", routes.attempts, ATTEMPTS)
    docs.add(router, "POST", DELIVERIES + "/{delivery}/retry", routes.retry, RETRY)
    return router
