"""Step 8: the ingestion gateway (seed 003): a legacy system's order with an ES256 JWT comes
in through `POST /ingest`, is mapped to a `custom.legacy.*` event and delivered to its subscriber.

A legacy system retries blindly, so the repeat must be answered with the same idempotency key and
cause no second delivery; forged tokens and schema errors must be refused with 401 and 422.
"""

from __future__ import annotations

from typing import Any

import httpx

from ccbridge.demo.context import Demo, arrivals
from ccbridge.ingest.testing import LegacyIssuer

MAPPED_TYPE = "custom.legacy.orders.order_created"
ORDER: dict[str, Any] = {
    "transaction_id": "T-1001",
    "event_type": "order_created",
    "amount": 129.5,
    "currency": "EUR",
    "timestamp": "2026-11-24T14:00:00+02:00",
}


def _figure(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {}
    return f"{response.status_code} {body.get('status', body.get('title', ''))}".strip()


async def ingest(ctx: Demo) -> None:
    if ctx.ingest_problem:
        ctx.check("ingest section configured", "accepted", ctx.ingest_problem)
        return
    hook = ctx.hooks["legacy"]
    created = await ctx.create(
        {
            "name": "legacy-orders",
            "eventTypes": [MAPPED_TYPE],
            "deliveryConfig": {"deliveryType": "WEBHOOK", "url": hook.url},
        }
    )
    ctx.check(f"Genesys subscription to {MAPPED_TYPE}", 201, created.status_code)
    hook.secrets = [str(created.json().get("secret", ""))]
    first = await ctx.web.post("/ingest", json=ORDER, headers=ctx.issuer.bearer())
    if first.status_code == 404:
        ctx.check("POST /ingest is mounted", "202", "404: no /ingest route on the server")
        return
    ctx.check("legacy order with an ES256 JWT", "202 accepted", _figure(first))
    key = first.json().get("idempotency_key")
    got = await arrivals(hook, 1)
    data = got[0].json().get("data", {}) if got else {}
    ctx.check(
        "delivered, mapped: type / channel / region / amount",
        f"{MAPPED_TYPE} / erp / unknown / 129.5",
        f"{got[0].json().get('event') if got else 'nothing'} / {data.get('channel')} / "
        f"{data.get('region')} / {data.get('amount')}",
    )
    ctx.check(
        "delivery signed",
        "standard ✓ genesys ✓",
        "standard ✓ genesys ✓" if got and got[0].signature_valid else "not verified",
    )
    again = await ctx.web.post("/ingest", json=ORDER, headers=ctx.issuer.bearer())
    same = "same key" if again.json().get("idempotency_key") == key else "another key"
    ctx.check("the same order again", "202 accepted, same key", f"{_figure(again)}, {same}")
    after = await arrivals(hook, 2, within=0.5)
    ctx.check("no second delivery", 1, len(after))
    forged = await ctx.web.post("/ingest", json=ORDER, headers=LegacyIssuer("ES256").bearer())
    ctx.check("token signed by another key", 401, forged.status_code)
    bad = await ctx.web.post(
        "/ingest",
        json={**ORDER, "transaction_id": "T-1002", "amount": -1, "currency": "eur"},
        headers=ctx.issuer.bearer(),
    )
    fields = sorted(str(e.get("field", e.get("path"))) for e in bad.json().get("errors", []))
    ctx.check("schema errors", "422 amount, currency", f"{bad.status_code} {', '.join(fields)}")
    if first.status_code == 202:
        ctx.tally["ingest:accepted"] += 1
    if again.status_code == 202:
        ctx.tally["ingest:duplicate"] += 1
    if forged.status_code == 401:
        ctx.tally["ingest:AuthError"] += 1
    if bad.status_code == 422:
        ctx.tally["ingest:InputError"] += 1
