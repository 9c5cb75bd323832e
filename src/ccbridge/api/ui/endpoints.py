"""A subscription's endpoint actions on its dashboard page: enable or disable one endpoint, rotate the
signing secret, send a test event. Each is a CSRF-checked POST needing the write scope; the work and
its audit line are `api.endpoint_actions`, the same as the API's routes (`api.endpoint_health`):

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

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ccbridge.api import endpoint_actions as actions
from ccbridge.api.ui.web import PREFIX, Dashboard, principal
from ccbridge.core.times import iso
from ccbridge.errors import NotFoundError


def endpoint_message(done: str | None) -> str | None:
    """The line shown on a subscription's page after `done=enabled:0` or `done=disabled:1`."""
    verb, _, index = (done or "").partition(":")
    if verb in ("enabled", "disabled") and index.isascii() and index.isdigit() and len(index) < 6:
        extra = "" if verb == "enabled" else ": its deliveries become dead letters until it is enabled"
        return f"Endpoint {int(index)} {verb}{extra}."
    return None


class EndpointActions:
    """The dashboard's transport of `api.endpoint_actions`: a checked form in, a page or redirect out."""

    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.services = dashboard.services

    async def switch(self, request: Request) -> Response:
        session, _ = await self.dashboard.actor(request)
        sub_id, index, verb = (request.path_params[k] for k in ("sub_id", "index", "verb"))
        if verb not in ("enable", "disable"):
            await actions.subscription(self.services, sub_id)  # an unknown subscription is the 404
            raise NotFoundError(f"no endpoint action {verb}: enable or disable")
        done = await actions.switch(
            self.services, request, principal(session), sub_id, index, verb == "enable"
        )
        query = urlencode({"done": f"{verb}d:{done.index}"})
        return RedirectResponse(f"{PREFIX}/subscriptions/{done.subscription.id}?{query}#endpoints", 303)

    async def confirm_rotate(self, request: Request) -> Response:
        session, _ = await self.dashboard.actor(request)
        sub = await actions.subscription(self.services, request.path_params["sub_id"])
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
        rotation = await actions.rotate(
            self.services, request, principal(session), request.path_params["sub_id"]
        )
        return self.dashboard.render(
            "rotate.html",
            title="Secret rotated",
            active="subscriptions",
            session=session,
            sub=rotation.subscription,
            grace_hours=None,
            secret=rotation.secret,
            expires=iso(rotation.previous_expires_at),
        )

    async def send_test(self, request: Request) -> Response:
        session, _ = await self.dashboard.actor(request)
        result = await actions.send_test(
            self.services, request, principal(session), request.path_params["sub_id"]
        )
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
