"""The replay page: choose a time range, subscriptions (none: every one that matches now) and an
optional event pattern; count with a dry run, start, and watch the job's progress to its final count.

A form's replay is the API's (`api.replays.parse_spec`, the same job in the store, run by the same
replayer in a server process, audited as "replay-range"), so the dashboard, the API and the CLI
start jobs that behave alike. Starting, dry run included, is an action: CSRF-checked, write scope.
A bad form is answered with the form again and the fields at fault, as a 4xx. The job's page polls
itself with htmx (`#job`, every second) while the job is queued or running; a finished job's page
stops polling. A dry run's page offers to start the same replay for real.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ccbridge.api.audit import audit
from ccbridge.api.replays import parse_spec, render_job
from ccbridge.api.ui.session import Session
from ccbridge.api.ui.timefields import form_time, local_value, shown
from ccbridge.api.ui.web import PREFIX, Dashboard, principal
from ccbridge.core.ports import ReplayJob, ReplaySpec
from ccbridge.core.times import iso
from ccbridge.errors import FieldError, InputError, NotFoundError

RECENT_JOBS = 20
POLL = "every 1s"
RUNNING = ("queued", "running")


def _request_body(form: FormData, errors: list[FieldError]) -> dict[str, Any]:
    """The API's replay request of a form (times read as the forms' UTC, the pattern as JSON)."""
    body: dict[str, Any] = {"subscriptionIds": [str(v) for v in form.getlist("subscription") if v]}
    for name in ("from", "to"):
        try:
            ts = form_time(str(form.get(name, "")), name)
        except InputError as exc:
            errors.extend(exc.errors)
            continue
        if ts is None:
            errors.append(FieldError(name, "is required"))
        else:
            body[name] = iso(ts)
    pattern = str(form.get("pattern", "")).strip()
    if pattern:
        try:
            body["pattern"] = orjson.loads(pattern)
        except orjson.JSONDecodeError:
            errors.append(
                FieldError(
                    "pattern", 'must be an event pattern in JSON, e.g. {"data": {"channel": ["voice"]}}'
                )
            )
    body["dryRun"] = str(form.get("action", "")) == "dry-run"
    return body


def _form_of(spec: ReplaySpec) -> dict[str, Any]:
    """A job's spec as the form's values (to start a dry run's replay for real, or repeat it)."""
    return {
        "from": local_value(spec.from_ts),
        "to": local_value(spec.to_ts),
        "subscriptions": list(spec.subscription_ids),
        "pattern": "" if spec.pattern is None else orjson.dumps(spec.pattern).decode(),
    }


class ReplayPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.store = dashboard.services.store

    async def _form(
        self, session: Session, values: dict[str, Any], errors: list[FieldError], status: int = 200
    ) -> Response:
        subs = await self.store.list_subscriptions()
        jobs = await self.store.list_replays(RECENT_JOBS)
        return self.dashboard.render(
            "replay.html",
            status,
            title="Replay",
            active="replay",
            session=session,
            subscriptions=subs,
            values=values,
            errors=errors,
            jobs=[{**render_job(j), "created": shown(j.created_at)} for j in jobs],
            names={s.id: s.name for s in subs},
        )

    async def show_form(self, request: Request) -> Response:
        session = self.dashboard.viewer(request)
        now = self.dashboard.services.now()
        values = {
            "from": local_value(now - 3600),
            "to": local_value(now + 60),
            "subscriptions": [],
            "pattern": "",
        }
        return await self._form(session, values, [])

    async def start(self, request: Request) -> Response:
        session, form = await self.dashboard.actor(request)
        errors: list[FieldError] = []
        body = _request_body(form, errors)
        values = {
            "from": str(form.get("from", "")),
            "to": str(form.get("to", "")),
            "subscriptions": body["subscriptionIds"],
            "pattern": str(form.get("pattern", "")),
        }
        if errors:
            return await self._form(session, values, errors, 400)
        try:
            spec, ids = parse_spec(body)
        except InputError as exc:
            return await self._form(session, values, exc.errors, 422)
        missing = [
            FieldError("subscription", f"no subscription with id {sub_id}")
            for sub_id in ids
            if await self.store.get_subscription(sub_id) is None
        ]
        if missing:
            return await self._form(session, values, missing, 422)
        job = await self.store.create_replay(f"rpl_{uuid.uuid4().hex}", spec)
        self.dashboard.services.wake_replays()
        audit(
            self.dashboard.services,
            request,
            principal(session),
            "replay-range",
            subscription_id=None,
            status=202,
        )
        return RedirectResponse(f"{PREFIX}/replay/{job.id}", 303)

    async def show_job(self, request: Request) -> Response:
        session = self.dashboard.viewer(request)
        job_id = request.path_params["job_id"]
        job: ReplayJob | None = await self.store.get_replay(job_id)
        if job is None:
            raise NotFoundError(f"no replay job with id {job_id}")
        return self.dashboard.render(
            "replay_job.html",
            title="Replay job",
            active="replay",
            session=session,
            job=render_job(job),
            running=job.state in RUNNING,
            poll=POLL,
            created=shown(job.created_at),
            finished=shown(job.finished_at),
            again=_form_of(job.spec),
            names={s.id: s.name for s in await self.store.list_subscriptions()},
        )


def routes(dashboard: Dashboard) -> list[Route]:
    pages = ReplayPages(dashboard)
    return [
        Route("/replay", pages.show_form, methods=["GET"]),
        Route("/replay", pages.start, methods=["POST"]),
        Route("/replay/{job_id}", pages.show_job, methods=["GET"]),
    ]
