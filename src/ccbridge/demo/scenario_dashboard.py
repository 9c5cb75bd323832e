"""The dashboard at /ui. Logs in through the form with the demo's client, opens every
page, and checks that the dead letters page lists what the API lists and that a POST without the
form's CSRF token is refused. It changes nothing, so it runs after the figures are checked."""

from __future__ import annotations

import re

import httpx

from ccbridge.demo.context import Demo

PAGES = ("/ui/", "/ui/subscriptions", "/ui/deadletters", "/ui/audit")


async def dashboard(ctx: Demo) -> None:
    async with httpx.AsyncClient(base_url=ctx.srv.base_url, timeout=10) as browser:
        form = await browser.get("/ui/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        login = await browser.post(
            "/ui/login",
            data={
                "csrf": token.group(1) if token else "",
                "client_id": ctx.srv.client_id,
                "client_secret": ctx.srv.client_secret,
            },
        )
        ctx.check(
            "log in with the demo's OAuth2 client",
            "303 to /ui/",
            f"{login.status_code} to {login.headers.get('location')}",
        )
        subs = (await ctx.api.get("/api/v2/eventbridge/subscriptions")).json()["entities"]
        paths = [*PAGES, *(f"/ui/subscriptions/{s['id']}" for s in subs)]
        answers = [(await browser.get(path)).status_code for path in paths]
        ctx.check(
            "every page answers 200", f"{len(paths)} of {len(paths)}", f"{answers.count(200)} of {len(paths)}"
        )
        letters = (await ctx.api.get("/api/v2/eventbridge/deadletters")).json()["entities"]
        page = (await browser.get("/ui/deadletters")).text
        listed = len(re.findall(r'<tr id="letter-\d+"', page))
        ctx.check("dead letters on the page = the API's", len(letters), listed)
        forged = await browser.post("/ui/deadletters/purge", data={"scope": "all"})
        ctx.check("a purge POST without the CSRF token", 403, forged.status_code)
