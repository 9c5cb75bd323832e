"""Seed 001's registry sync, done by the server: every subscription write through the API and every
change of a subscription's delivery state reach the registry webhook, signed, with the document's
`X-Event-Source`, through the same retried delivery as events. The client's apply, sharing the config,
posts nothing of its own (the server's answers say it does it), so each write is told once.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from ccbridge.demo.context import SUBS, Demo
from ccbridge.testing.receiver import ReceivedRequest

SETTLE_WITHIN = 5.0


def _told(received: list[ReceivedRequest]) -> dict[str, list[str]]:
    """The states told per subscription id, in arrival order (2xx answers only)."""
    states: dict[str, list[str]] = defaultdict(list)
    for request in received:
        if 200 <= request.status < 300:
            body = request.json()
            states[str(body.get("subscriptionId"))].append(str(body.get("state")))
    return states


async def _settled(ctx: Demo, ids: dict[str, str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Waits (up to SETTLE_WITHIN s) until the last state told of each of `ids` (name -> id) is the
    one delivery-status shows; returns what was told and those states."""
    deadline = time.monotonic() + SETTLE_WITHIN
    while True:
        states = {name: str((await ctx.status(sub_id)).get("state")) for name, sub_id in ids.items()}
        told = _told(list(ctx.hooks["registry"].received))
        if all(told.get(i, [""])[-1] == states[n] for n, i in ids.items()) or time.monotonic() > deadline:
            return told, states
        await asyncio.sleep(0.05)


async def registry_sync(ctx: Demo) -> None:
    registry = ctx.hooks["registry"]
    subs = {s["name"]: s["id"] for s in (await ctx.api.get(SUBS)).json().get("entities", [])}
    watched = {n: subs[n] for n in ("flaky-consumer", "broken-consumer") if n in subs}
    told, states = await _settled(ctx, watched)
    ctx.check(
        "every subscription there now was told active on create",
        f"{len(subs)} of {len(subs)}",
        f"{sum(told.get(i, [''])[0] == 'active' for i in subs.values())} of {len(subs)}",
    )
    ctx.check(
        "deletes told",
        "1 deleted (short-lived)",
        f"{sum(s[-1] == 'deleted' for s in told.values())} deleted (short-lived)",
    )
    for name, sub_id in watched.items():
        ctx.check(
            f"{name}: last state told = delivery-status state",
            states[name],
            told.get(sub_id, ["nothing"])[-1],
        )
        ctx.note(f"{name}: told {' -> '.join(told.get(sub_id, []))}")
    applied = [len(told.get(subs.get(n, ""), [])) for n in ("orders-feed", "big-orders")]
    ctx.check("apply's creates told once each (by the server)", "1, 1", ", ".join(map(str, applied)))
    broken = told.get(watched.get("broken-consumer", ""), [])
    ctx.check("broken-consumer's dead letter told as a state change", "failing told", _figure(broken))
    received = list(registry.received)
    ctx.check(
        "signed (both schemes), X-Event-Source: cxone-eventbridge",
        f"{len(received)} of {len(received)}",
        f"{sum(_signed_as_documented(r) for r in received)} of {len(received)}",
    )


def _figure(states: list[str]) -> str:
    return "failing told" if "failing" in states else f"told only {', '.join(states) or 'nothing'}"


def _signed_as_documented(request: ReceivedRequest) -> bool:
    source = request.headers.get("x-event-source") == "cxone-eventbridge"
    return bool(request.standard_valid and request.genesys_valid) and source
