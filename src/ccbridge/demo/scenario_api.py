"""Steps 1-3: the token endpoint, subscriptions in both dialects, and event ingestion in both dialects.

These show the API a CXone or Genesys client already speaks, including its error answers (401
invalid_client, 400 naming every field with a one-line `message` and a `code`, 409 naming the
existing subscription), since client code relies on those shapes as much as on the happy path.
"""

from __future__ import annotations

import httpx

from ccbridge.demo.context import (
    FAST_RETRY,
    JSON,
    SUBS,
    Demo,
    arrivals,
    cxone_event,
    genesys_event,
    short,
    signed_ok,
)

TOKEN_PATHS = ("/api/v2/oauth/token", "/oauth/token")
SURVEY_TYPE = "custom.genesys.survey.completed"


def _token_figure(response: httpx.Response) -> str:
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return f"{response.status_code} {body.get('token_type', body.get('error', '?'))}"


async def tokens(ctx: Demo) -> None:
    """Seed 001 sends form credentials, seeds 003/004 HTTP Basic; both paths answer both styles."""
    web, srv = ctx.web, ctx.srv
    grant = {"grant_type": "client_credentials"}
    form = {**grant, "client_id": srv.client_id, "client_secret": srv.client_secret}
    by_form = [await web.post(path, data=form) for path in TOKEN_PATHS]
    ctx.check(
        "form credentials on both token paths",
        "200 Bearer, 200 Bearer",
        ", ".join(_token_figure(r) for r in by_form),
    )
    basic = httpx.BasicAuth(srv.client_id, srv.client_secret)
    scoped = {**grant, "scope": "eventbridge:events:write"}
    by_basic = [await web.post(path, data=scoped, auth=basic) for path in TOKEN_PATHS]
    ctx.check(
        "HTTP Basic on both token paths",
        "200 Bearer, 200 Bearer",
        ", ".join(_token_figure(r) for r in by_basic),
    )
    ctx.check(
        "scope asked for is the scope granted",
        "eventbridge:events:write",
        by_basic[1].json().get("scope") if by_basic[1].status_code == 200 else by_basic[1].status_code,
    )
    wrong = await web.post(TOKEN_PATHS[0], data={**form, "client_secret": "not-the-secret-123"})
    ctx.check("wrong client secret", "401 invalid_client", _token_figure(wrong))
    token = by_form[0].json().get("access_token", "") if by_form[0].status_code == 200 else ""
    with_token = await web.get(SUBS, headers={"Authorization": f"Bearer {token}"})
    without = await web.get(SUBS)
    ctx.check(
        "the token opens the API, no token is refused",
        "200, 401",
        f"{with_token.status_code}, {without.status_code}",
    )


def crm_subscription(ctx: Demo) -> JSON:
    return {
        "name": "crm-contacts",
        "description": "voice contacts to the CRM",
        "eventType": "contact.created",
        "filters": [{"field": "channelType", "operator": "eq", "value": "voice"}],
        "endpoints": [{"url": ctx.hooks["crm"].url, "type": "webhook"}],
        "deadLetterQueue": {"enabled": True, "endpointUrl": ctx.hooks["dlq"].url, "retentionDays": 7},
        "retryConfiguration": FAST_RETRY,
    }


async def subscriptions(ctx: Demo) -> None:
    """One subscription per dialect (kept for step 3), then the validation and conflict answers."""
    crm = await ctx.create(crm_subscription(ctx))
    body = crm.json()
    secret = str(body.get("secret", ""))
    ctx.check(
        "CXone dialect (filters, endpoints, DLQ, retries)",
        "201 with a whsec_ secret",
        f"{crm.status_code} with {'a whsec_ secret' if secret.startswith('whsec_') else 'no secret'}",
    )
    ctx.hooks["crm"].secrets = [secret]
    survey = await ctx.create(
        {
            "name": "survey-router",
            "eventTypes": [SURVEY_TYPE],
            "deliveryConfig": {
                "deliveryType": "WEBHOOK",
                "url": ctx.hooks["survey"].url,
                "headers": {"X-Genesys-Event-Signature": "required"},
            },
            "filter": "data.score > 3 && data.channel == 'voice'",
        }
    )
    sbody = survey.json()
    ctx.check(
        "Genesys dialect (eventTypes, deliveryConfig, filter)",
        "201 WEBHOOK",
        f"{survey.status_code} {sbody.get('deliveryConfig', {}).get('deliveryType')}",
    )
    ctx.hooks["survey"].secrets = [str(sbody.get("secret", ""))]
    bad = await ctx.create(
        {
            **crm_subscription(ctx),
            "name": "bad",
            "eventType": "contact.exploded",
            "endpoints": [{"url": "ftp://files.example.com/in", "type": "webhook"}],
        }
    )
    fields = sorted(e.get("field") for e in bad.json().get("errors", []))
    ctx.check(
        "bad event type and URL", "400 endpoints[0].url, eventType", f"{bad.status_code} {', '.join(fields)}"
    )
    ctx.check("the error's code and message", "bad.request True", _code_and_message(bad))
    again = await ctx.create({**crm_subscription(ctx), "description": "a second one"})
    ctx.check(
        "the same name again",
        f"409 existingId={short(body.get('id'))}",
        f"{again.status_code} existingId={short(again.json().get('existingId'))}",
    )
    fetched = (await ctx.api.get(f"{SUBS}/{body.get('id')}")).json()
    ctx.check(
        "GET keeps the filters and hides the secret",
        "filters kept, no secret",
        f"filters {'kept' if fetched.get('filters') == crm_subscription(ctx)['filters'] else 'lost'}, "
        f"{'no secret' if 'secret' not in fetched else 'secret shown'}",
    )
    temp = (await ctx.create({**crm_subscription(ctx), "name": "short-lived"})).json()
    put = await ctx.api.put(
        f"{SUBS}/{temp.get('id')}", json={**crm_subscription(ctx), "name": "short-lived", "description": "v2"}
    )
    gone = await ctx.api.delete(f"{SUBS}/{temp.get('id')}")
    after = await ctx.api.get(f"{SUBS}/{temp.get('id')}")
    ctx.check(
        "PUT, DELETE, then GET",
        "200 v2, 204, 404",
        f"{put.status_code} {put.json().get('description')}, {gone.status_code}, {after.status_code}",
    )


async def events(ctx: Demo) -> None:
    """Both dialects are stored (201), a repeated key answers 200 with the first id, and the step-2
    subscriptions receive exactly what their filters select, signed."""
    voice = cxone_event("contact.created", {"contactId": "c-1001", "channelType": "voice", "skill": "sales"})
    first = await ctx.publish(voice, **{"Idempotency-Key": "demo-contact-c-1001"})
    ctx.check("CXone {eventType, attributes, timestamp}", 201, first.status_code)
    repeat = await ctx.publish(voice, **{"Idempotency-Key": "demo-contact-c-1001"})
    same = "same id" if repeat.json().get("id") == first.json().get("id") else "another id"
    ctx.check(
        "the same idempotency key again",
        "201 then 200, same id",
        f"{first.status_code} then {repeat.status_code}, {same}",
    )
    chat = await ctx.publish(cxone_event("contact.created", {"contactId": "c-1002", "channelType": "chat"}))
    good = await ctx.publish(genesys_event(SURVEY_TYPE, {"score": 5, "channel": "voice"}))
    low = await ctx.publish(genesys_event(SURVEY_TYPE, {"score": 2, "channel": "voice"}))
    ctx.check(
        "Genesys {eventType, eventTime, source, data}", "201, 201", f"{good.status_code}, {low.status_code}"
    )
    ctx.note(
        f"also published a chat contact ({chat.status_code}); filters should keep it and the score 2 away"
    )
    crm = await arrivals(ctx.hooks["crm"], 1)
    ctx.check(
        "crm-contacts got only the voice contact, once",
        "1 × c-1001",
        f"{len(crm)} × {', '.join(str(r.json()['data'].get('contactId')) for r in crm)}",
    )
    survey = await arrivals(ctx.hooks["survey"], 1, within=2)
    ctx.check(
        "survey-router got only score > 3",
        "1 × score 5",
        f"{len(survey)} × {', '.join('score ' + str(r.json()['data'].get('score')) for r in survey)}",
    )
    ctx.check(
        "'X-Genesys-Event-Signature: required' became a real signature",
        "standard ✓ genesys ✓",
        signed_ok(survey[0]) if survey else "nothing received",
    )


def _code_and_message(answer: httpx.Response) -> str:
    """`code` and whether `message` is one line naming a field at fault, as seed 001's client prints it."""
    body = answer.json()
    message = str(body.get("message", ""))
    named = any(message.startswith(f"{e.get('field')}: ") for e in body.get("errors", []))
    return f"{body.get('code')} {named and chr(10) not in message}"
