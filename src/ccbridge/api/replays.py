"""Replay jobs: `POST /api/v2/eventbridge/replays` starts one (202 with the job and its `Location`),
`GET .../replays/{id}` shows its state, progress and counts, `GET .../replays` lists the latest.
With an `Idempotency-Key`, a repeated request starts nothing and answers the job the first one
started, as it is now (so a client's retry never replays twice).

The API only stores the job; a replayer in a server process (`delivery.replayer`) claims and runs it,
resuming it after a restart. Starting needs the write scope, reading the read scope.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from ccbridge.api import docs, idempotency, schemas
from ccbridge.api.audit import audit
from ccbridge.api.guard import READ, WRITE, authorize
from ccbridge.api.history_params import LATEST, limit_param, parse_time
from ccbridge.api.http import json_response, read_json
from ccbridge.api.services import Services
from ccbridge.core.ports import ReplayJob, ReplaySpec
from ccbridge.core.rules import PatternError, compile_pattern
from ccbridge.core.times import iso, iso_or_none
from ccbridge.core.validation import is_rfc3339
from ccbridge.errors import FieldError, InputError, NotFoundError

BASE = "/api/v2/eventbridge/replays"
KEYS = frozenset({"from", "to", "subscriptionIds", "pattern", "dryRun"})
MAX_SUBSCRIPTIONS = 1000

START = docs.Doc(
    "Replay stored events of a time range (a background job)",
    schemas.ReplayJob,
    status=202,
    body=schemas.ReplayJobRequest,
    errors=docs.WRITES,
)
SHOW = docs.Doc("A replay job: state, progress and counts", schemas.ReplayJob, errors=(*docs.READS, 404))
LIST = docs.Doc(
    "Replay jobs, newest first",
    schemas.ReplayJobList,
    errors=(*docs.READS, 400),
    query=(("limit", "integer"),),
)


def render_job(job: ReplayJob) -> dict[str, Any]:
    spec = job.spec
    percent = 100.0 if job.state == "succeeded" else (100.0 * job.scanned / job.total if job.total else 0.0)
    return {
        "id": job.id,
        "state": job.state,
        "dryRun": spec.dry_run,
        "from": iso(spec.from_ts),
        "to": iso(spec.to_ts),
        "subscriptionIds": list(spec.subscription_ids),
        "pattern": spec.pattern,
        "progress": {"total": job.total, "scanned": job.scanned, "percent": round(min(percent, 100.0), 1)},
        "counts": {"matched": job.matched, "enqueued": job.enqueued, "skipped": job.skipped},
        "error": job.error,
        "createdAt": iso(job.created_at),
        "updatedAt": iso(job.updated_at),
        "finishedAt": iso_or_none(job.finished_at),
    }


def _time(body: dict[str, Any], key: str, errors: list[FieldError]) -> float:
    value = body.get(key)
    if value is None:
        errors.append(FieldError(key, "is required (RFC 3339, e.g. 2026-12-03T10:00:00Z)"))
    elif not is_rfc3339(value):
        errors.append(
            FieldError(key, "must be an RFC 3339 date-time with an offset, e.g. 2026-12-03T10:00:00Z")
        )
    elif not 0 <= (ts := parse_time(value)) <= LATEST:
        errors.append(FieldError(key, "must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"))
    else:
        return ts
    return 0.0


def _pattern(value: Any, errors: list[FieldError]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(FieldError("pattern", "must be an event pattern (a JSON object)"))
        return None
    try:
        compile_pattern(value)
    except PatternError as exc:
        errors.append(FieldError(f"pattern.{exc.path}" if exc.path else "pattern", exc.reason))
    return value


def parse_spec(body: Any) -> tuple[ReplaySpec, list[str]]:
    """The spec of a request body (InputError naming every field at fault) and the subscription ids
    it names, still to be checked against the store."""
    if not isinstance(body, dict):
        raise InputError(FieldError("body", "must be an object"))
    errors = [FieldError(k, "is not a field of a replay request") for k in body if k not in KEYS]
    from_ts, to_ts = _time(body, "from", errors), _time(body, "to", errors)
    if not errors and from_ts >= to_ts:
        errors.append(FieldError("to", "must be later than from"))
    ids = body.get("subscriptionIds") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > MAX_SUBSCRIPTIONS:
        errors.append(
            FieldError("subscriptionIds", f"must be a list of at most {MAX_SUBSCRIPTIONS} subscription ids")
        )
        ids = []
    pattern = _pattern(body.get("pattern"), errors)
    dry_run = body.get("dryRun", False)
    if not isinstance(dry_run, bool):
        errors.append(FieldError("dryRun", "must be true or false"))
    if errors:
        raise InputError(errors)
    unique = list(dict.fromkeys(ids))
    return ReplaySpec(from_ts, to_ts, tuple(unique), pattern, bool(dry_run)), unique


class ReplayRoutes:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store

    async def start(self, request: Request) -> Response:
        principal = authorize(self.services, request, WRITE)
        body = await read_json(request, self.services.config.limits.max_body_bytes)
        write = await idempotency.begin(self.store, request, principal.client_id, body)
        if write.replayed is not None:  # the same request again: the job it started, as it is now
            return await self._replayed(orjson.loads(write.replayed.body))
        spec, ids = parse_spec(body)
        missing = [
            FieldError(f"subscriptionIds[{i}]", f"no subscription with id {sub_id}")
            for i, sub_id in enumerate(ids)
            if await self.store.get_subscription(sub_id) is None
        ]
        if missing:
            raise InputError(missing)
        job_id = f"rpl_{uuid.uuid4().hex}"
        job = await self.store.create_replay(
            job_id, spec, write.record(202, {"id": job_id}, self.services.now())
        )
        self.services.wake_replays()
        audit(self.services, request, principal, "replay-range", subscription_id=None, status=202)
        return json_response(render_job(job), 202, headers={"Location": f"{BASE}/{job.id}"})

    async def _replayed(self, stored: dict[str, Any]) -> Response:
        job = await self.store.get_replay(str(stored.get("id")))
        if job is None:
            raise NotFoundError("the replay job this Idempotency-Key started is gone")
        headers = {"Location": f"{BASE}/{job.id}", "Idempotent-Replayed": "true"}
        return json_response(render_job(job), 202, headers=headers)

    async def show(self, request: Request, job_id: str) -> Response:
        authorize(self.services, request, READ)
        job = await self.store.get_replay(job_id)
        if job is None:
            raise NotFoundError(f"no replay job with id {job_id}")
        return json_response(render_job(job))

    async def list_jobs(self, request: Request) -> Response:
        authorize(self.services, request, READ)
        jobs = await self.store.list_replays(limit_param(request.query_params.get("limit")))
        return json_response({"items": [render_job(j) for j in jobs]})


def build_router(services: Services) -> APIRouter:
    routes = ReplayRoutes(services)
    router = APIRouter(tags=["replay"])
    docs.add(router, "POST", BASE, routes.start, START)
    docs.add(router, "GET", BASE, routes.list_jobs, LIST)
    docs.add(router, "GET", BASE + "/{job_id}", routes.show, SHOW)
    return router
