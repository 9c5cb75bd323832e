"""The dead letters page: each letter with its last error; replay or purge one, a selection, a
subscription's or all, always through a confirmation page.

Every action is two POSTs: `/deadletters/confirm` shows what would happen (nothing changes), and
the confirmation form posts to `/deadletters/replay` or `/deadletters/purge`, which act and send
the browser back to the list with the count. Both are CSRF-checked and need the write scope; an
action is audited as the API's are ("replay", "purge"). Replay re-queues through the store, so it
is idempotent (only what is still dead moves); purge deletes only what is still dead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ccbridge.api.audit import audit
from ccbridge.api.deadletters import MAX_LETTER_ID
from ccbridge.api.deadletters import render as render_letter
from ccbridge.api.ui.web import PREFIX, Dashboard, principal
from ccbridge.core.ports import DeadLetter
from ccbridge.errors import FieldError, Malformed

PAGE_SIZE = 200
MAX_SELECTED = 1000
PURGE_CHUNK = 1000
Action = Literal["replay", "purge"]
Scope = Literal["ids", "subscription", "all"]


@dataclass(frozen=True, slots=True)
class Choice:
    """What an action applies to: the selected `ids`, one subscription's letters, or all of them."""

    action: Action
    scope: Scope
    ids: tuple[int, ...] = ()
    subscription_id: str | None = None

    def fields(self) -> list[tuple[str, str]]:
        """The form fields that repeat this choice in the confirmation form."""
        out: list[tuple[str, str]] = [("scope", self.scope)]
        out += [("id", str(i)) for i in self.ids]
        if self.subscription_id:
            out.append(("subscription", self.subscription_id))
        return out


def _ids(values: list[str]) -> tuple[int, ...]:
    ids = []
    for value in values:
        if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_LETTER_ID:
            raise Malformed(FieldError("id", "dead letter ids are integers"))
        ids.append(int(value))
    if len(ids) > MAX_SELECTED:
        raise Malformed(FieldError("id", f"at most {MAX_SELECTED} dead letters at once"))
    return tuple(sorted(set(ids)))


def choice(form: FormData, action: str) -> Choice:
    """The choice a form names; Malformed when it names none or an unknown action or scope. A row's
    own button names its letter in the action (`replay:12`), whatever else is selected."""
    name, _, one = action.partition(":")
    verb: Action
    if name == "replay":
        verb = "replay"
    elif name == "purge":
        verb = "purge"
    else:
        raise Malformed(FieldError("action", "must be replay or purge"))
    scope = str(form.get("scope", "ids"))
    sub = str(form.get("subscription", "")) or None
    if one:
        return Choice(verb, "ids", _ids([one]))
    if scope == "ids":
        ids = _ids([str(v) for v in form.getlist("id")])
        if not ids:
            raise Malformed(FieldError("id", "select at least one dead letter"))
        return Choice(verb, "ids", ids)
    if scope == "subscription" and sub:
        return Choice(verb, "subscription", subscription_id=sub)
    if scope == "all":
        return Choice(verb, "all")
    raise Malformed(FieldError("scope", "must be ids, subscription (with a subscription) or all"))


def _message(done: str | None) -> str | None:
    """The line shown after an action, from the redirect's `done=replayed:3` (anything else: none)."""
    verb, _, count = (done or "").partition(":")
    if verb in ("replayed", "purged") and count.isascii() and count.isdigit() and len(count) < 10:
        return f"{verb.capitalize()} {int(count)} dead letter{'' if int(count) == 1 else 's'}."
    return None


class DeadLetterPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.store = dashboard.services.store

    async def list_letters(self, request: Request) -> Response:
        session = self.dashboard.viewer(request)
        sub = request.query_params.get("subscription") or None
        letters = await self.store.list_dead_letters(sub, PAGE_SIZE)
        subs = {s.id: s.name for s in await self.store.list_subscriptions()}
        return self.dashboard.render(
            "deadletters.html",
            title="Dead letters",
            active="deadletters",
            session=session,
            letters=[render_letter(d) for d in letters],
            names=subs,
            subscription=sub,
            page_size=PAGE_SIZE,
            message=_message(request.query_params.get("done")),
        )

    async def _chosen(self, pick: Choice) -> list[DeadLetter] | None:
        """The letters a selection names that are still dead (None for a subscription's or all)."""
        if pick.scope != "ids":
            return None
        found = [await self.store.get_dead_letter(i) for i in pick.ids]
        return [d for d in found if d is not None]

    async def confirm(self, request: Request) -> Response:
        session, form = await self.dashboard.actor(request)
        pick = choice(form, str(form.get("action", "")))
        chosen = await self._chosen(pick)
        subs = {s.id: s.name for s in await self.store.list_subscriptions()}
        return self.dashboard.render(
            "confirm.html",
            title="Confirm",
            active="deadletters",
            session=session,
            choice=pick,
            letters=None if chosen is None else [render_letter(d) for d in chosen],
            names=subs,
        )

    async def act(self, request: Request) -> Response:
        session, form = await self.dashboard.actor(request)
        action = request.path_params["action"]
        pick = choice(form, action)
        if pick.action == "replay":
            count = await self._replay(pick)
        else:
            count = await self._purge(pick)
        audit(
            self.dashboard.services,
            request,
            principal(session),
            pick.action,
            subscription_id=pick.subscription_id,
            status=200,
        )
        query = {"done": f"{'replayed' if pick.action == 'replay' else 'purged'}:{count}"}
        if pick.subscription_id:
            query["subscription"] = pick.subscription_id
        return RedirectResponse(f"{PREFIX}/deadletters?{urlencode(query)}", 303)

    async def _replay(self, pick: Choice) -> int:
        if pick.scope == "ids":
            return await self.store.replay_dead_letters(ids=list(pick.ids))
        return await self.store.replay_dead_letters(subscription_id=pick.subscription_id)

    async def _purge(self, pick: Choice) -> int:
        if pick.scope == "ids":
            return await self.store.discard_dead_letters(pick.ids)
        if pick.scope == "all":
            return await self.store.purge_dead_letters(None)
        removed = 0
        while letters := await self.store.list_dead_letters(pick.subscription_id, PURGE_CHUNK):
            gone = await self.store.discard_dead_letters([d.id for d in letters])
            removed += gone
            if gone == 0:  # what is listed is being replayed or purged by someone else meanwhile
                break
        return removed


def routes(dashboard: Dashboard) -> list[Route]:
    pages = DeadLetterPages(dashboard)
    return [
        Route("/deadletters", pages.list_letters, methods=["GET"]),
        Route("/deadletters/confirm", pages.confirm, methods=["POST"]),
        Route("/deadletters/{action:str}", pages.act, methods=["POST"]),
    ]
