"""The events and deliveries pages: search stored events by type, time range and subscription (cursor
pages, newest first); an event's page with its deliveries and each attempt's request (endpoint,
masked; attempt; time) and response (status, latency, start of the body, error class); retrying one
delivery, or every failed (dead) delivery of a filtered view through a confirmation page.

Retrying is `DeliveryHistory.retry_delivery`: the delivery is queued again, due now, with its attempt
count reset and its recorded attempts kept. One delivery is retried by its own button (a POST, CSRF-
checked, write scope); the bulk retry shows the deliveries it would queue (nothing changes), and its
confirmation form names exactly those ids, so what is confirmed is what is retried (one no longer
dead by then is skipped and counted as such). Both are audited as the API's retry is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.datastructures import FormData, ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ccbridge.api.audit import audit
from ccbridge.api.history import render_attempt, render_delivery, render_record
from ccbridge.api.history_params import MAX_ID, cursor_param, limit_param
from ccbridge.api.ui.timefields import form_time, local_value, shown
from ccbridge.api.ui.web import PREFIX, Dashboard, principal
from ccbridge.core.ports import DeliveryRecord, EventQuery
from ccbridge.errors import ConflictError, FieldError, Malformed, NotFoundError

PAGE_SIZE = 50
MAX_RETRY = 1000
"""The most deliveries one bulk retry queues (the confirmation page says when there are more)."""
SCAN_PAGE = 200
MAX_SCANNED = 20_000
"""The most events a bulk retry looks through for dead deliveries."""
FAILED = "dead"


@dataclass(frozen=True, slots=True)
class Filter:
    """A view's filter, read from the query string or a form; times in epoch seconds."""

    type: str | None = None
    from_ts: float | None = None
    to_ts: float | None = None
    subscription_id: str | None = None

    @classmethod
    def read(cls, values: ImmutableMultiDict[str, Any] | FormData) -> Filter:
        found = cls(
            type=str(values.get("type") or "").strip() or None,
            from_ts=form_time(str(values.get("from") or ""), "from"),
            to_ts=form_time(str(values.get("to") or ""), "to"),
            subscription_id=str(values.get("subscription") or "").strip() or None,
        )
        if found.from_ts is not None and found.to_ts is not None and found.from_ts >= found.to_ts:
            raise Malformed(FieldError("to", "must be later than from"))
        return found

    def query(self, limit: int = PAGE_SIZE, cursor: int | None = None) -> EventQuery:
        return EventQuery(self.type, self.from_ts, self.to_ts, self.subscription_id, limit, cursor)

    def fields(self) -> list[tuple[str, str]]:
        """The filter as form or query fields (times in the forms' UTC form)."""
        out = [
            ("type", self.type or ""),
            ("from", local_value(self.from_ts)),
            ("to", local_value(self.to_ts)),
            ("subscription", self.subscription_id or ""),
        ]
        return [(k, v) for k, v in out if v]

    def qs(self) -> str:
        return urlencode(self.fields())

    @property
    def empty(self) -> bool:
        return not self.fields()


def _ids(values: list[str]) -> list[int]:
    ids: list[int] = []
    for value in values:
        if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_ID:
            raise Malformed(FieldError("id", "delivery ids are integers"))
        ids.append(int(value))
    if not ids:
        raise Malformed(FieldError("id", "no delivery to retry"))
    if len(ids) > MAX_RETRY:
        raise Malformed(FieldError("id", f"at most {MAX_RETRY} deliveries at once"))
    return sorted(set(ids))


def _message(done: str | None) -> str | None:
    """The line after an action, from the redirect's `done=retried:7` (one delivery),
    `done=retried:3:1` (retried, skipped) or `done=test:2` (a test event's deliveries)."""
    parts = (done or "").split(":")
    if (
        parts[0] == "test"
        and len(parts) == 2
        and parts[1].isascii()
        and parts[1].isdigit()
        and len(parts[1]) < 6
    ):
        count = int(parts[1])
        return f"Test event stored: {count} deliver{'y' if count == 1 else 'ies'} queued."
    if parts[0] != "retried" or not all(p.isascii() and p.isdigit() and len(p) < 10 for p in parts[1:]):
        return None
    if len(parts) == 2:
        return f"Delivery {int(parts[1])} queued again."
    if len(parts) == 3:
        count, skipped = int(parts[1]), int(parts[2])
        text = f"Queued {count} failed deliver{'y' if count == 1 else 'ies'} again."
        return text + (f" {skipped} no longer dead, skipped." if skipped else "")
    return None


class EventPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.store = dashboard.services.store

    async def _names(self) -> dict[str, str]:
        return {s.id: s.name for s in await self.store.list_subscriptions()}

    async def search(self, request: Request) -> Response:
        session = self.dashboard.viewer(request)
        view = Filter.read(request.query_params)
        cursor = cursor_param(request.query_params.get("cursor"))
        raw_limit = request.query_params.get("limit")
        limit = limit_param(raw_limit) if raw_limit else PAGE_SIZE
        page = await self.store.search_events(view.query(limit, cursor))
        rows = [
            {**render_record(r), "received": shown(r.received_ts), "failed": r.deliveries.get(FAILED, 0)}
            for r in page.items
        ]
        next_qs = None
        if page.next_cursor is not None:
            paging = [("limit", str(limit))] if raw_limit else []
            next_qs = urlencode([*view.fields(), *paging, ("cursor", str(page.next_cursor))])
        return self.dashboard.render(
            "events.html",
            title="Events",
            active="events",
            session=session,
            rows=rows,
            view=view,
            form=dict(view.fields()),
            names=await self._names(),
            next_qs=next_qs,
            paged=cursor is not None,
            message=_message(request.query_params.get("done")),
        )

    async def show(self, request: Request) -> Response:
        session = self.dashboard.viewer(request)
        event_id = request.path_params["event_id"]
        found = await self.store.event_with_deliveries(event_id)
        if found is None:
            raise NotFoundError(f"no stored event with id {event_id}")
        record, deliveries = found
        rendered = []
        for d in deliveries:
            attempts = await self.store.delivery_attempts(d.id) or []
            rendered.append(
                {
                    **render_delivery(d),
                    "retryable": d.status in ("dead", "delivered"),
                    "attemptList": [{**render_attempt(a), "when": shown(a.at)} for a in attempts],
                }
            )
        event = render_record(record)
        return self.dashboard.render(
            "event.html",
            title=f"Event {record.event.type}",
            active="events",
            session=session,
            event=event,
            received=shown(record.received_ts),
            data=orjson.dumps(event["data"], option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode(),
            deliveries=rendered,
            names=await self._names(),
            message=_message(request.query_params.get("done")),
        )

    async def retry_one(self, request: Request) -> Response:
        session, _ = await self.dashboard.actor(request)
        raw = request.path_params["delivery"]
        delivery = _ids([raw])[0]
        record = await self.store.retry_delivery(delivery)
        audit(
            self.dashboard.services,
            request,
            principal(session),
            "retry-delivery",
            subscription_id=record.subscription_id,
            status=202,
        )
        query = urlencode({"done": f"retried:{record.id}"})
        return RedirectResponse(f"{PREFIX}/events/{record.event_id}?{query}#delivery-{record.id}", 303)

    async def _failed(self, view: Filter) -> tuple[list[DeliveryRecord], bool]:
        """The dead deliveries of the view's events (to its subscription, when it names one), at most
        `MAX_RETRY`; True when there may be more (a cap was reached)."""
        out: list[DeliveryRecord] = []
        cursor: int | None = None
        scanned = 0
        while True:
            page = await self.store.search_events(view.query(SCAN_PAGE, cursor))
            for record in page.items:
                scanned += 1
                if not record.deliveries.get(FAILED):
                    continue
                found = await self.store.event_with_deliveries(record.event.id)
                for d in found[1] if found else []:
                    if d.status != FAILED or d.kind != "event":
                        continue
                    if view.subscription_id and d.subscription_id != view.subscription_id:
                        continue
                    out.append(d)
                    if len(out) >= MAX_RETRY:
                        return out, True
            if page.next_cursor is None:
                return out, False
            if scanned >= MAX_SCANNED:
                return out, True
            cursor = page.next_cursor

    async def confirm_failed(self, request: Request) -> Response:
        session, form = await self.dashboard.actor(request)
        view = Filter.read(form)
        failed, capped = await self._failed(view)
        return self.dashboard.render(
            "retry_confirm.html",
            title="Confirm",
            active="events",
            session=session,
            view=view,
            failed=[render_delivery(d) for d in failed],
            capped=capped,
            names=await self._names(),
        )

    async def retry_failed(self, request: Request) -> Response:
        session, form = await self.dashboard.actor(request)
        view = Filter.read(form)
        retried = skipped = 0
        for delivery in _ids([str(v) for v in form.getlist("id")]):
            try:
                await self.store.retry_delivery(delivery)
                retried += 1
            except (ConflictError, NotFoundError):  # retried, or gone, since the confirmation
                skipped += 1
        audit(
            self.dashboard.services,
            request,
            principal(session),
            "retry-deliveries",
            subscription_id=view.subscription_id,
            status=202,
        )
        query = [*view.fields(), ("done", f"retried:{retried}:{skipped}")]
        return RedirectResponse(f"{PREFIX}/events?{urlencode(query)}", 303)


def routes(dashboard: Dashboard) -> list[Route]:
    pages = EventPages(dashboard)
    return [
        Route("/events", pages.search, methods=["GET"]),
        Route("/events/retry-failed/confirm", pages.confirm_failed, methods=["POST"]),
        Route("/events/retry-failed", pages.retry_failed, methods=["POST"]),
        Route("/events/{event_id}", pages.show, methods=["GET"]),
        Route("/deliveries/{delivery}/retry", pages.retry_one, methods=["POST"]),
    ]
