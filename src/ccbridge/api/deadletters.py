"""`/api/v2/eventbridge/deadletters`: list, show, replay (idempotent: only dead rows move) and purge."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, schemas
from ccbridge.api.audit import audit, audit_refusals
from ccbridge.api.guard import READ, WRITE, authorize
from ccbridge.api.http import json_response, read_json
from ccbridge.api.services import Services
from ccbridge.core.ports import DeadLetter
from ccbridge.core.redact import mask_text, mask_url
from ccbridge.errors import FieldError, InputError, Malformed, NotFoundError

BASE = "/api/v2/eventbridge/deadletters"
ONE = BASE + "/{letter_id}"
ADDRESSED = (
    *docs.READS,
    400,
    422,
)  # 400: an unreadable limit or age; 422: a letter id that is not an integer
LIST = docs.Doc(
    "List dead letters",
    schemas.DeadLetterList,
    errors=ADDRESSED,
    query=(("subscriptionId", "string"), ("limit", "integer")),
)
REPLAY = docs.Doc(
    "Replay dead letters (one subscription's, or all)",
    schemas.Replayed,
    body=schemas.ReplayRequest,
    errors=(*docs.WRITES, 404),
)
SHOW = docs.Doc("Show a dead letter", schemas.DeadLetter, errors=(*ADDRESSED, 404))
REPLAY_ONE = docs.Doc("Replay one dead letter (idempotent)", schemas.Replayed, errors=(*ADDRESSED, 404))
PURGE = docs.Doc(
    "Purge dead letters", schemas.Purged, errors=ADDRESSED, query=(("olderThanDays", "integer"),)
)
_NAMES = {
    "event_id": "eventId",
    "event_type": "eventType",
    "subscription_id": "subscriptionId",
    "endpoint_url": "endpointUrl",
    "endpoint_type": "endpointType",
    "last_status": "lastStatus",
    "created_at": "createdAt",
    "dead_at": "deadAt",
}


def render(letter: DeadLetter) -> dict[str, Any]:
    """The letter as answered: the endpoint URL's credentials masked, in the reason too (`core.redact`)."""
    body = {_NAMES.get(k, k): v for k, v in asdict(letter).items()}
    body["endpointUrl"] = mask_url(letter.endpoint_url)
    if letter.reason is not None:
        body["reason"] = mask_text(letter.reason)
    if body.get("event") is None:
        body.pop("event", None)
    return body


MAX_PARAM_DIGITS = 9
MAX_LETTER_ID = 2**63 - 1
"""Dead letters are numbered by the store's 64-bit integers: a larger id names none."""


def _int_param(value: str | None, name: str, default: int) -> int:
    """A count in a query parameter: 0 to 999,999,999 in ASCII digits, else Malformed."""
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_PARAM_DIGITS:
        raise Malformed(FieldError(name, f"must be an integer from 0 to {10**MAX_PARAM_DIGITS - 1}"))
    return int(value)


def _letter_id(value: int) -> int:
    """`value` if a dead letter can have it as its id; NotFoundError otherwise."""
    if not 0 <= value <= MAX_LETTER_ID:
        raise NotFoundError("no dead letter has an id outside 0 to 2^63-1")
    return value


class DeadLetterRoutes:
    """The handlers of the dead-letter routes, bound to the services they use."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store

    async def list_letters(self, request: Request) -> Response:
        authorize(self.services, request, READ)
        limit = _int_param(request.query_params.get("limit"), "limit", 100)
        sub_id = request.query_params.get("subscriptionId")
        letters = await self.store.list_dead_letters(sub_id, min(limit, 1000))
        return json_response({"entities": [render(d) for d in letters], "total": len(letters)})

    async def show(self, request: Request, letter_id: int) -> Response:
        authorize(self.services, request, READ)
        letter = await self.store.get_dead_letter(_letter_id(letter_id))
        if letter is None:
            raise NotFoundError(f"no dead letter with id {letter_id}")
        return json_response(render(letter))

    async def replay_one(self, request: Request, letter_id: int) -> Response:
        principal = authorize(self.services, request, WRITE)
        if await self.store.get_dead_letter(_letter_id(letter_id)) is None:
            count = 0  # already replayed (or never dead): replay is idempotent, not an error
        else:
            count = await self.store.replay_dead_letters(ids=[letter_id])
        audit(self.services, request, principal, "replay", subscription_id=None, status=200)
        return json_response({"replayed": count})

    async def replay_many(self, request: Request) -> Response:
        principal = authorize(self.services, request, WRITE)
        body = await read_json(request, self.services.config.limits.max_body_bytes)
        if not isinstance(body, dict):
            raise InputError(FieldError("body", "must be an object"))
        sub_id, everything = body.get("subscriptionId"), body.get("all") is True
        if (sub_id is None) == (not everything):
            raise InputError(FieldError("subscriptionId", 'give either subscriptionId or "all": true'))
        if sub_id is not None and await self.store.get_subscription(str(sub_id)) is None:
            raise NotFoundError(f"no subscription with id {sub_id}")
        chosen = None if everything else str(sub_id)
        count = await self.store.replay_dead_letters(subscription_id=chosen)
        audit(self.services, request, principal, "replay", subscription_id=chosen, status=200)
        return json_response({"replayed": count})

    async def purge(self, request: Request) -> Response:
        principal = authorize(self.services, request, WRITE)
        days = request.query_params.get("olderThanDays")
        cutoff = (
            None if days is None else self.services.now() - _int_param(days, "olderThanDays", 0) * 86400.0
        )
        count = await self.store.purge_dead_letters(cutoff)
        audit(self.services, request, principal, "purge", subscription_id=None, status=200)
        return json_response({"purged": count})


def build_router(services: Services) -> APIRouter:
    routes = DeadLetterRoutes(services)
    router = APIRouter(tags=["dead letters"])
    docs.add(router, "GET", BASE, routes.list_letters, LIST)
    docs.add(router, "POST", BASE + "/replay", audit_refusals(services, "replay", routes.replay_many), REPLAY)
    docs.add(router, "GET", ONE, routes.show, SHOW)
    docs.add(
        router, "POST", ONE + "/replay", audit_refusals(services, "replay", routes.replay_one), REPLAY_ONE
    )
    docs.add(router, "DELETE", BASE, audit_refusals(services, "purge", routes.purge), PURGE)
    return router
