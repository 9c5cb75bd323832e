"""Steps 4-6: delivery with retries and dead letters, signed inbound webhooks, and seed 002's
long-sales routing fanned out to two gRPC consumers.

Each consumer is a real server on loopback (aiohttp or grpc.aio) whose answers the demo scripts, so
retries, dead letters and replays happen over real sockets exactly as they would in production.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from ccbridge.demo.context import (
    DEADLETTERS,
    FAST_RETRY,
    JSON,
    QUIET,
    Demo,
    arrivals,
    counts,
    cxone_event,
    short,
    signed_ok,
)
from ccbridge.testing.grpc_consumer import GrpcConsumer, ReceivedEvent

LONG_SALES = (
    "data.channel == 'voice' && data.duration > 120 && "
    "(data.wrapupcode.name == 'Sale' || data.wrapupcode.name == 'Upsell')"
)
CALLS = (
    (300, "Sale", "voice"),
    (60, "Sale", "voice"),
    (500, "Complaint", "voice"),
    (121, "Upsell", "voice"),
    (400, "Sale", "chat"),
)


def _consumer_sub(ctx: Demo, role: str) -> JSON:
    return {
        "name": f"{role}-consumer",
        "eventType": "contact.updated",
        "endpoints": [{"url": ctx.hooks[role].url, "type": "webhook"}],
        "deadLetterQueue": {"enabled": True, "endpointUrl": ctx.hooks["dlq"].url, "retentionDays": 7},
        "retryConfiguration": FAST_RETRY,
    }


async def delivery(ctx: Demo) -> None:
    """One event to three consumers: healthy, failing twice with 503, always failing with 500."""
    healthy, flaky, broken, dlq = (ctx.hooks[n] for n in ("healthy", "flaky", "broken", "dlq"))
    flaky.behave(fail_first=2, fail_status=503)
    broken.behave(status=500)
    subs = {
        role: (await ctx.create(_consumer_sub(ctx, role))).json() for role in ("healthy", "flaky", "broken")
    }
    healthy.secrets = [str(subs["healthy"].get("secret", ""))]
    ack = await ctx.publish(cxone_event("contact.updated", {"contactId": "c-2001", "status": "closed"}))
    event_id = ack.json().get("id")
    ctx.note("published contact.updated to three consumers; flaky answers 503 twice, broken always 500")

    got = await arrivals(healthy, 1)
    ok = await ctx.status_when(subs["healthy"]["id"], lambda s: counts(s)[0] >= 1)
    ctx.check("healthy: delivered / retrying / dead-lettered", "1 / 0 / 0", _figure(ok))
    ctx.check(
        "healthy: both signatures verify with the subscription secret",
        "standard ✓ genesys ✓",
        signed_ok(got[0]) if got else "nothing received",
    )
    ctx.check(
        "healthy: webhook-id is the event id",
        short(event_id),
        short(got[0].headers.get("webhook-id")) if got else "nothing received",
    )

    tries = await arrivals(flaky, 3)
    retried = await ctx.status_when(subs["flaky"]["id"], lambda s: counts(s)[0] >= 1)
    ctx.check(
        "flaky: answers seen (503, 503, then 200)", "503, 503, 200", ", ".join(str(r.status) for r in tries)
    )
    ctx.check("flaky: delivered / retrying / dead-lettered", "1 / 0 / 0", _figure(retried))
    ctx.check(
        "flaky: attempt numbers, one webhook-id",
        "1, 2, 3 / 1 id",
        ", ".join(str(r.json()["metadata"]["attempt"]) for r in tries)
        + f" / {len({r.headers.get('webhook-id') for r in tries})} id",
    )

    await arrivals(broken, 3)
    dead = await ctx.status_when(subs["broken"]["id"], lambda s: counts(s)[3] >= 1)
    ctx.check("broken: delivered / retrying / dead-lettered", "0 / 0 / 1", _figure(dead))
    ctx.check("broken: delivery-status state", "failing", dead.get("state"))
    letters = (await ctx.api.get(DEADLETTERS, params={"subscriptionId": subs["broken"]["id"]})).json()
    entities = letters.get("entities", [])
    ctx.check(
        "broken: dead letter after maxRetries + 1 attempts",
        "1 letter, 3 attempts",
        f"{len(entities)} letter, {entities[0].get('attempts') if entities else 0} attempts",
    )
    forwarded = await arrivals(dlq, 1)
    ctx.check(
        "dead letter forwarded to the DLQ endpoint",
        "ccbridge.deadletter, lastStatus 500",
        ", ".join(f"{r.json().get('type')}, lastStatus {r.json().get('lastStatus')}" for r in forwarded),
    )

    if entities:
        broken.behave(status=200)
        replay = await ctx.api.post(f"{DEADLETTERS}/{entities[0]['id']}/replay")
        ctx.check("replay after the consumer recovered", {"replayed": 1}, replay.json())
        await arrivals(broken, 4)
        back = await ctx.status_when(subs["broken"]["id"], lambda s: counts(s)[0] >= 1)
        ctx.check("broken: delivered / retrying / dead-lettered after replay", "1 / 0 / 0", _figure(back))


def _figure(status: JSON) -> str:
    delivered, _pending, retrying, dead = counts(status)
    return f"{delivered} / {retrying} / {dead}"


async def inbound(ctx: Demo) -> None:
    """`POST /events` takes a platform webhook only with a valid signature, and a redelivered one once."""
    hook = ctx.hooks["inbound"]
    sub = (
        await ctx.create(
            {
                "name": "inbound-interactions",
                "eventType": "interaction.completed",
                "endpoints": [{"url": hook.url, "type": "webhook"}],
                "retryConfiguration": FAST_RETRY,
            }
        )
    ).json()
    body = {
        "event": "interaction.completed",
        "data": {"conversationId": "conv-77", "queue": "support"},
        "metadata": {"timestamp": "2026-11-24T10:00:00Z"},
    }
    first = await ctx.inbound(body, webhook_id="wh-demo-1")
    ctx.check("signed with X-Genesys-Event-Signature", "200 stored", _inbound_figure(first))
    forged = await ctx.inbound(body, secret="someone-elses-secret", webhook_id="wh-demo-2")
    ctx.check("forged signature", 403, forged.status_code)
    again = await ctx.inbound(body, webhook_id="wh-demo-1")
    same = "same id" if again.json().get("id") == first.json().get("id") else "another id"
    ctx.check("the same webhook-id again", "200 duplicate, same id", f"{_inbound_figure(again)}, {same}")
    got = await arrivals(hook, 1)
    ctx.check(
        "delivered to the subscriber, once",
        "1 × conv-77",
        f"{len(got)} × {', '.join(str(r.json()['data'].get('conversationId')) for r in got)}",
    )
    status = await ctx.status_when(str(sub.get("id")), lambda s: counts(s)[0] >= 1)
    ctx.check("inbound-interactions delivered / retrying / dead-lettered", "1 / 0 / 0", _figure(status))


def _inbound_figure(response: httpx.Response) -> str:
    if response.status_code != 200:
        return str(response.status_code)
    return f"200 {'duplicate' if response.json().get('duplicate') else 'stored'}"


async def grpc_fan_out(ctx: Demo) -> None:
    """Seed 002: signed interaction webhooks in, the long-sales filter, two gRPC consumers out."""
    for name in ("sales-a", "sales-b"):
        consumer = ctx.consumers[name]
        created = await ctx.create(
            {
                "name": f"long-sales-{name[-1]}",
                "eventTypes": ["routing:interaction:completed"],
                "deliveryConfig": {"deliveryType": "GRPC", "url": consumer.address},
                "filter": LONG_SALES,
            }
        )
        ctx.check(f"Genesys GRPC subscription for {name}", 201, created.status_code)
    answers = []
    for i, (duration, wrapup, channel) in enumerate(CALLS, 1):
        body = {
            "event": "routing:interaction:completed",
            "data": {"channel": channel, "duration": duration, "wrapupcode": {"name": wrapup}},
            "metadata": {"id": f"call-{i}", "timestamp": "2026-11-24T10:00:00Z"},
        }
        answers.append((await ctx.inbound(body)).status_code)
    ctx.check(
        "5 signed calls in through POST /events",
        "200 × 5",
        " ".join(str(a) for a in answers) if set(answers) != {200} else "200 × 5",
    )
    for name in ("sales-a", "sales-b"):
        got = await _grpc_arrivals(ctx.consumers[name], 2)
        ctx.check(f"{name} got exactly the long sales", "2: 121 s Upsell, 300 s Sale", _calls(got))


async def _grpc_arrivals(consumer: GrpcConsumer, n: int) -> list[ReceivedEvent]:
    with contextlib.suppress(TimeoutError):
        await consumer.wait_for(n, timeout=5)
    await asyncio.sleep(QUIET)
    return list(consumer.received)


def _calls(got: list[ReceivedEvent]) -> str:
    calls = sorted((e.body["data"]["duration"], e.body["data"]["wrapupcode"]["name"]) for e in got)
    return f"{len(got)}: " + ", ".join(f"{d} s {w}" for d, w in calls)
