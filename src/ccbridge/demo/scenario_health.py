"""Endpoint health: a consumer that fails until its endpoint's circuit breaker opens (its deliveries
wait, none dead-lettered), recovers so the probe closes the breaker and the backlog is delivered; a
consumer answering `410 Gone` is disabled at once and `ccbridge.endpoint.disabled` announces it; a
secret rotation signs with both secrets; a test event reaches one subscription only.

The step brings its own receivers on loopback, so it changes nothing the other steps count.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from ccbridge.core.signatures import GENESYS_HEADER, sign_genesys, verify_standard
from ccbridge.demo.context import FAST_RETRY, JSON, SUBS, Demo, counts, cxone_event
from ccbridge.errors import AuthError
from ccbridge.testing import ReceivedRequest, WebhookReceiver

PATIENT_RETRY = {**FAST_RETRY, "maxRetries": 20}
"""Retries enough that, without the breaker, nothing would be dead-lettered during the step either:
what the step shows is the pause, not the retry budget."""


def _sub(name: str, url: str, event_type: str = "contact.created") -> JSON:
    return {
        "name": name,
        "eventType": event_type,
        "endpoints": [{"url": url, "type": "webhook"}],
        "retryConfiguration": PATIENT_RETRY,
    }


async def _endpoint(ctx: Demo, sub_id: str, when: Any, within: float = 12.0) -> JSON:
    """Polls the subscription's first endpoint until `when` holds (or time is up)."""
    deadline = time.monotonic() + within
    while True:
        entity = dict((await ctx.api.get(f"{SUBS}/{sub_id}/endpoints")).json()["entities"][0])
        if when(entity) or time.monotonic() > deadline:
            return entity
        await asyncio.sleep(0.05)


async def health(ctx: Demo) -> None:
    """The step: its own three receivers, three scenes."""
    async with (
        WebhookReceiver(path="/failing") as failing,
        WebhookReceiver(path="/gone") as gone,
        WebhookReceiver(path="/ops") as ops,
    ):
        await _breaker(ctx, failing)
        await _gone(ctx, gone, ops)
        await _rotation_and_test(ctx, failing)


async def _breaker(ctx: Demo, failing: WebhookReceiver) -> None:
    failing.behave(status=503)
    sub = (await ctx.create(_sub("breaker-demo", failing.url))).json()
    for n in range(6):
        await ctx.publish(cxone_event("contact.created", {"contactId": f"c-br-{n}"}))
    ctx.note("6 events to a consumer answering 503; delivery.breaker.failures is 5")
    opened = await _endpoint(ctx, sub["id"], lambda e: e["state"] == "open")
    ctx.check(
        "breaker opens after consecutive failures",
        "open, ≥ 5 failures",
        f"{opened['state']}, {opened['consecutiveFailures']} failures",
        opened["state"] == "open" and opened["consecutiveFailures"] >= 5,
    )
    waiting = await ctx.status(sub["id"])
    ctx.check("while open: dead-lettered", 0, counts(waiting)[3])
    failing.behave(status=200)
    ctx.note("the consumer recovers; the next probe (one delivery) succeeds")
    closed = await _endpoint(ctx, sub["id"], lambda e: e["state"] == "closed")
    done = await ctx.status_when(sub["id"], lambda s: counts(s)[0] >= 6, within=8)
    ctx.check("breaker closes on a successful probe", "closed", closed["state"])
    ctx.check("then delivered / dead-lettered", "6 / 0", f"{counts(done)[0]} / {counts(done)[3]}")


async def _gone(ctx: Demo, gone: WebhookReceiver, ops: WebhookReceiver) -> None:
    gone.behave(status=410)
    sub = (await ctx.create(_sub("gone-demo", gone.url))).json()
    await ctx.create(_sub("ops-watch", ops.url, "ccbridge.endpoint.disabled"))
    await ctx.publish(cxone_event("contact.created", {"contactId": "c-gone"}))
    disabled = await _endpoint(ctx, sub["id"], lambda e: e["state"] == "disabled")
    ctx.check(
        "410 Gone disables the endpoint at once",
        "disabled (gone)",
        f"{disabled['state']} ({disabled.get('disabledBy')})",
    )
    with contextlib.suppress(TimeoutError):
        await ops.wait_for(1, timeout=5)
    kinds = [r.json().get("event") for r in ops.received]
    ctx.check(
        "ccbridge.endpoint.disabled delivered to its subscriber",
        "1",
        str(kinds.count("ccbridge.endpoint.disabled")),
    )


async def _rotation_and_test(ctx: Demo, receiver: WebhookReceiver) -> None:
    sub = (await ctx.create(_sub("rotation-demo", receiver.url))).json()
    old = str(sub.get("secret", ""))
    rotated = (await ctx.api.post(f"{SUBS}/{sub['id']}/secret/rotate")).json()
    new = str(rotated.get("secret", ""))
    ctx.check(
        "rotation answers a new whsec_ secret",
        "new whsec_",
        "new whsec_" if new.startswith("whsec_") and new != old else new[:6],
    )
    receiver.reset()
    await ctx.publish(cxone_event("contact.created", {"contactId": "c-rot"}))
    with contextlib.suppress(TimeoutError):
        await receiver.wait_for(2, timeout=5)  # breaker-demo's and rotation-demo's copies
    mine = [r for r in receiver.received if r.json().get("metadata", {}).get("subscriptionId") == sub["id"]]
    ctx.check(
        "during the grace period: old ✓ new ✓ hex=new",
        "old ✓ new ✓ hex=new",
        _both(mine[0], old, new) if mine else "nothing received",
    )
    receiver.reset()
    sent = (await ctx.api.post(f"{SUBS}/{sub['id']}/test")).json()
    with contextlib.suppress(TimeoutError):
        await receiver.wait_for(1, timeout=5)
    got = [r.json() for r in receiver.received]
    ctx.check(
        "test event: to this subscription's endpoint only",
        "1 × ccbridge.test",
        f"{len(got)} × {got[0].get('event') if got else '-'}",
        len(got) == 1 and got[0].get("id") == sent.get("id"),
    )


def _both(request: ReceivedRequest, old: str, new: str) -> str:
    headers = dict(request.headers)

    def mark(secret: str) -> str:
        try:
            verify_standard(headers, request.body, [secret], time.time())
        except AuthError:
            return "✗"
        return "✓"

    hex_ok = headers.get(GENESYS_HEADER) == sign_genesys(new, request.body)
    return f"old {mark(old)} new {mark(new)} hex={'new' if hex_ok else 'other'}"
