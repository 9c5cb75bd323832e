"""What became of an event, attempt by attempt, and a replay of a time range.

Runs after the metrics step so the deliveries it causes (a 503, its retry, the replayed ones) leave
the counters the metrics step compares untouched. Its own receiver answers the first try with a 503.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ccbridge.core.times import iso
from ccbridge.demo.context import EVENTS, FAST_RETRY, SUBS, Demo, cxone_event
from ccbridge.testing import WebhookReceiver

DELIVERIES = "/api/v2/eventbridge/deliveries"
REPLAYS = "/api/v2/eventbridge/replays"
TYPE = "custom.demo.history"


async def _until(probe: Any, within: float = 8.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def history(ctx: Demo) -> None:
    async with WebhookReceiver(path="/history") as receiver:
        receiver.behave(fail_first=1, fail_status=503)
        created = await ctx.create(
            {
                "name": "history-demo",
                "eventType": TYPE,
                "endpoints": [{"url": receiver.url}],
                "retryConfiguration": FAST_RETRY,
            }
        )
        sub_id = created.json()["id"]
        start = iso(time.time() - 1)
        # the second event only once the first had its 503: sent together, either could get it
        ids = [(await ctx.publish(cxone_event(TYPE, {"n": 0}))).json()["id"]]
        await receiver.wait_for(1, timeout=8)
        ids.append((await ctx.publish(cxone_event(TYPE, {"n": 1}))).json()["id"])
        await receiver.wait_for(3, timeout=8)
        first = ids[0]

        async def delivered() -> list[dict[str, Any]] | None:
            shown = (await ctx.api.get(f"{EVENTS}/{first}")).json()
            done = [d for d in shown["deliveries"] if d["status"] == "delivered"]
            return done or None

        [delivery] = await _until(delivered) or [{"id": 0}]
        attempts = (await ctx.api.get(f"{DELIVERIES}/{delivery['id']}/attempts")).json().get("items", [])
        ctx.check(
            "an event's attempts: outcome, status, answer",
            "retry 503 'not ok', delivered 200 'ok'",
            ", ".join(f"{a['outcome']} {a['status']} {a['responseBody']!r}" for a in attempts),
        )
        ctx.check("each attempt has its latency", True, all(a["latencyMs"] is not None for a in attempts))
        page = (await ctx.api.get(EVENTS, params={"type": TYPE, "subscription": sub_id})).json()
        ctx.check(
            "events search by type and subscription", sorted(ids), sorted(e["id"] for e in page["items"])
        )
        span = {"from": start, "to": iso(time.time() + 1), "subscriptionIds": [sub_id]}
        dry = await _job(ctx, {**span, "dryRun": True})
        ctx.check(
            "replay dry run: events matched / deliveries counted",
            "2 / 2",
            f"{dry['counts']['matched']} / {dry['counts']['enqueued']}",
        )
        job = await _job(ctx, span)
        ctx.check(
            "replay job: state, deliveries queued",
            "succeeded, 2",
            f"{job['state']}, {job['counts']['enqueued']}",
        )
        again = await receiver.wait_for(5, timeout=8)
        ctx.check(
            "replayed events reached the consumer", sorted(ids), sorted(r.json()["id"] for r in again[3:])
        )
        await ctx.api.delete(f"{SUBS}/{sub_id}")


async def _job(ctx: Demo, body: dict[str, Any]) -> dict[str, Any]:
    started = (await ctx.api.post(REPLAYS, json=body)).json()

    async def finished() -> dict[str, Any] | None:
        job = dict((await ctx.api.get(f"{REPLAYS}/{started['id']}")).json())
        return job if job["state"] in ("succeeded", "failed") else None

    return dict(await _until(finished) or started)
