"""Issue 17's CXone side: an agent event read from a (fake) CXone tenant, routed by a subscription to
a `cxone-signal` endpoint, wakes the contact's Studio script with a Signal call.

The tenant is `ccbridge.testing.cxone.FakeCxone` (a test fixture written from NICE's documented
protocol), started before the server because the server's `connectors.cxone` entry names it. The
connector runner is not part of this branch, so the step runs the connector itself (built by
`bootstrap.cxone_connectors`, sharing the server's credentials for the tenant) with a sink that
stores each event through the server's own API (`POST /api/v2/eventbridge/events`, the platform id
as the Idempotency-Key), which is the path the runner's sink takes below the HTTP layer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from ccbridge.bootstrap import cxone_connectors
from ccbridge.config import DEFAULT_EVENT_TYPES
from ccbridge.core.times import iso
from ccbridge.demo.context import FAST_RETRY, Demo, counts, cxone_event
from ccbridge.testing.cxone import FakeCxone

CONNECTOR = "cx-demo"
AGENT = "demo-agent-7"
CONTACT = "700123"
GAP_TYPE = "ccbridge.connector.gap"
AGENT_TYPES = ("cxone.agent.AgentState", "cxone.agent.CallContactEvent", "cxone.agent.AgentSessionEnd")
SIGNAL_URL = f"cxone://{CONNECTOR}/signal?contactId=data.ContactID&p1=data.Skill&p2=data.Status"


def config(fake: FakeCxone) -> dict[str, Any]:
    """The server's `connectors.cxone` entry for the fake tenant, and the event types it produces."""
    user, secret = fake.credentials
    client_id, client_secret = fake.client
    entry = {
        "name": CONNECTOR,
        "access_key_id": user,
        "access_key_secret": secret,
        "client_id": client_id,
        "client_secret": client_secret,
        "auth_url": fake.url,
        "agents": [AGENT],
        "poll_timeout_seconds": 1,
    }
    return {
        "connectors": {"cxone": [entry]},
        "event_types": [*DEFAULT_EVENT_TYPES, *AGENT_TYPES, GAP_TYPE],
    }


class ApiSink:
    """The connectors' EventSink over the server's API: one POST per event, idempotent by platform id."""

    def __init__(self, ctx: Demo) -> None:
        self.ctx = ctx
        self.created = 0
        self.repeats = 0

    async def deliver(
        self,
        *,
        connector: str,
        event_type: str,
        data: Any,
        platform_id: str,
        time: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> bool:
        answer = await self.ctx.publish(
            cxone_event(event_type, data), **{"Idempotency-Key": f"{connector}:{platform_id}"}
        )
        if answer.status_code not in (200, 201):
            raise OSError(f"the server answered {answer.status_code}")
        created = answer.status_code == 201
        self.created += created
        self.repeats += not created
        return created

    async def gap(self, *, connector: str, topics: Sequence[str], start: float, end: float) -> None:
        data = {"connector": connector, "topics": list(topics), "from": iso(start), "to": iso(end)}
        await self.deliver(connector=connector, event_type=GAP_TYPE, data=data, platform_id=f"gap-{start}")


async def agent_event_to_signal(ctx: Demo) -> None:
    """An agent's call event flows from CXone into ccbridge and back out as a Signal call."""
    fake, runtime = ctx.cxone, ctx.srv.runtime
    if fake is None or runtime is None:
        ctx.check("fake CXone tenant and in-process server", "present", "missing")
        return
    fake.login(AGENT)
    fake.contacts.add(CONTACT)
    created = await ctx.create(
        {
            "name": "cxone-escalations",
            "eventType": "cxone.agent.CallContactEvent",
            "pattern": {"data": {"Status": ["Active"]}},
            "endpoints": [{"url": SIGNAL_URL, "type": "cxone-signal"}],
            "retryConfiguration": FAST_RETRY,
        }
    )
    ctx.check("subscription with a cxone-signal endpoint", 201, created.status_code)
    sub_id = str(created.json().get("id"))
    refused = await ctx.create(
        {
            "name": "cxone-unknown",
            "eventType": "cxone.agent.CallContactEvent",
            "endpoints": [{"url": SIGNAL_URL.replace(CONNECTOR, "cx-nowhere"), "type": "cxone-signal"}],
        }
    )
    field = (refused.json().get("errors") or [{}])[0].get("field")
    ctx.check(
        "a connector that is not configured is refused",
        "400 endpoints[0].url",
        f"{refused.status_code} {field}",
    )

    connector = cxone_connectors(runtime)[0]
    sink = ApiSink(ctx)
    fake.fail("get-next-event", 503)  # a passing fault: retried on the same session
    fake.drop("get-next-event", after_answer=True)  # an answer lost on the wire: read again
    fake.push(AGENT, {"Type": "AgentState", "CurrentState": "Available", "IISHost": "demo", "VCHost": "demo"})
    fake.push(
        AGENT, {"Type": "CallContactEvent", "ContactID": CONTACT, "Status": "Active", "Skill": "billing-vip"}
    )
    stop = asyncio.Event()
    task = asyncio.create_task(connector.run(sink, stop))
    try:
        await _until(lambda: len(fake.signals) >= 1 and connector.status()["state"] == "connected")
        status = connector.status()
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await task
    ctx.check("a 503, then a dropped answer: the same events answered again", 1, fake.reanswered)
    ctx.check(
        "agent events stored (each once)",
        "2 stored, 0 repeats",
        f"{sink.created} stored, {sink.repeats} repeats",
    )
    ctx.check(
        "Signal call: contact and p1, p2", [(CONTACT, {"p1": "billing-vip", "p2": "Active"})], fake.signals
    )
    final = await ctx.status_when(sub_id, lambda s: counts(s)[0] == 1)
    ctx.check("delivery-status (delivered, pending, retrying, dead)", (1, 0, 0, 0), counts(final))
    session = status["sessions"][0] if status.get("sessions") else {}
    ctx.check(
        "connector status while running",
        "connected, session held",
        f"{status.get('state')}, " + ("session held" if session.get("sessionId") else "no session"),
    )
    ctx.check("one CXone session joined, no gap", (1, None), (len(fake.joins), status.get("lastGap")))
    ctx.check("one token for the agent source and the Signal call", 1, fake.token_grants)


async def _until(predicate: Any, within: float = 8.0) -> None:
    """Returns once `predicate()` holds or `within` seconds passed (the checks after it tell which)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if predicate() or asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.02)
