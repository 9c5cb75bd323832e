"""A subscription's endpoint actions on its dashboard page: enable or disable one endpoint, rotate the
signing secret, send a test event. Each is a CSRF-checked POST needing the write scope, audited with
the operation names of the API's routes (`api.endpoint_health`), and does what they do:

* enable/disable: `EndpointHealth.set_endpoint_enabled` (enabling closes the breaker with its counts
  reset; a disabled endpoint's deliveries become dead letters, replayable once enabled). Back to the
  subscription's page with what was done.
* rotate: a confirmation page first; then a new `whsec_` secret, the old one still signing for
  `delivery.secret_grace_seconds`. The answer page is the only place the new secret is ever shown
  (`Cache-Control: no-store`); no page shows it again.
* test: a `ccbridge.test` event stored and delivered through the durable path to this
  subscription's endpoints only; the browser goes to that event's page to watch its deliveries.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ccbridge.api.audit import audit
from ccbridge.api.ui.web import PREFIX, Dashboard, principal
from ccbridge.core.event import Subscription
from ccbridge.core.operational import test_event
from ccbridge.core.signatures import generate_secret
from ccbridge.core.times import iso
from ccbridge.errors import FieldError, InputError, NotFoundError


def endpoint_message(done: str | None) -> str | None:
    """The line shown on a subscription's page after `done=enabled:0` or `done=disabled:1`."""
    verb, _, index = (done or "").partition(":")
    if verb in ("enabled", "disabled") and index.isascii() and index.isdigit() and len(index) < 6:
        extra = "" if verb == "enabled" else ": its deliveries become dead letters until it is enabled"
        return f"Endpoint {int(index)} {verb}{extra}."
    return None


class EndpointActions:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.services = dashboard.services
        self.store = dashboard.services.store

    async def _get(self, sub_id: str) -> Subscription:
        sub = await self.store.get_subscription(sub_id)
        if sub is None:
            raise NotFoundError(f"no subscription with id {sub_id}")
        return sub

    async def switch(self, request: Request) -> Response:
        session, _ = await self.dashboard.actor(request)
        sub = await self._get(request.path_params["sub_id"])
        index, verb = request.path_params["index"], request.path_params["verb"]
        if verb not in ("enable", "disable"):
            raise NotFoundError(f"no endpoint action {verb}: enable or disable")
        if not (index.isascii() and index.isdigit()) or len(index) > 6 or int(index) >= len(sub.endpoints):
            raise InputError(
                FieldError("index", f"must be an endpoint's index, 0 to {len(sub.endpoints) - 1}")
            )
        spec = sub.endpoints[int(index)]
        await self.store.set_endpoint_enabled(sub.id, spec.url, verb == "enable")
        audit(
            self.services, request, principal(session), f"endpoint.{verb}", subscription_id=sub.id, status=200
        )
        query = urlencode({"done": f"{verb}d:{int(index)}"})
        return RedirectResponse(f"{PREFIX}/subscriptions/{sub.id}?{query}#endpoints", 303)

    async def confirm_rotate(self, request: Request) -> Response:
        session, _ = await self.dashboard.actor(request)
        sub = await self._get(request.path_params["sub_id"])
        grace = self.services.config.delivery.secret_grace_seconds
        return self.dashboard.render(
            "rotate.html",
            title="Rotate secret",
            active="subscriptions",
            session=session,
            sub=sub,
            grace_hours=grace / 3600,
            secret=None,
            expires=None,
        )

    async def rotate(self, request: Request) -> Response:
        session, _ = await self.dashboard.actor(request)
        sub = await self._get(request.path_params["sub_id"])
        now = self.services.now()
        expires = now + self.services.config.delivery.secret_grace_seconds
        rotated = replace(
            sub,
            secret=generate_secret(),
            previous_secret=sub.secret,
            previous_secret_expires_at=expires,
            updated_at=iso(now),
        )
        await self.store.update_subscription(rotated)
        audit(self.services, request, principal(session), "secret.rotate", subscription_id=sub.id, status=200)
        return self.dashboard.render(
            "rotate.html",
            title="Secret rotated",
            active="subscriptions",
            session=session,
            sub=sub,
            grace_hours=None,
            secret=rotated.secret,
            expires=iso(expires),
        )

    async def send_test(self, request: Request) -> Response:
        session, _ = await self.dashboard.actor(request)
        sub = await self._get(request.path_params["sub_id"])
        result = await self.store.append_event(test_event(sub.id, self.services.now()))
        audit(self.services, request, principal(session), "test", subscription_id=sub.id, status=202)
        query = urlencode({"done": f"test:{result.deliveries}"})
        return RedirectResponse(f"{PREFIX}/events/{result.event.id}?{query}", 303)


def routes(dashboard: Dashboard) -> list[Route]:
    actions = EndpointActions(dashboard)
    one = "/subscriptions/{sub_id}"
    return [
        Route(one + "/endpoints/{index}/{verb}", actions.switch, methods=["POST"]),
        Route(one + "/secret/confirm", actions.confirm_rotate, methods=["POST"]),
        Route(one + "/secret/rotate", actions.rotate, methods=["POST"]),
        Route(one + "/test", actions.send_test, methods=["POST"]),
    ]
