"""Issue 17's CXone side: an agent event read from a (fake) CXone tenant, routed by a subscription to
a `cxone-signal` endpoint, wakes the contact's Studio script with a Signal call.

The tenant is `ccbridge.testing.cxone.FakeCxone` (a test fixture written from NICE's documented
protocol), started before the server because the server's `connectors.cxone` entry names it. The
server's connector runner runs the connector (one lease-held instance), sharing the tenant's
credentials with the Signal endpoint.

The agent is logged in before the server starts (`log_in`), so the connector joins the session at
once and long-polls it for the whole run. The step's faults hit the polls in a fixed order, whatever
the machine's speed: a 503 on the next poll, the events queued only once that poll was answered, so
the poll after it (the dropped answer) is the one that carries them, and the re-read answers them
again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ccbridge.config import DEFAULT_EVENT_TYPES
from ccbridge.demo.context import EVENTS, FAST_RETRY, Demo, counts
from ccbridge.testing.cxone import FakeCxone

CONNECTOR = "cx-demo"
AGENT = "demo-agent-7"
CONTACT = "700123"
GAP_TYPE = "ccbridge.connector.gap"
AGENT_TYPES = ("cxone.agent.AgentState", "cxone.agent.CallContactEvent", "cxone.agent.AgentSessionEnd")
FOLLOWING_WITHIN = 10.0
"""Bound on waiting for the connector's session and its next poll: it joined at start and polls with
`poll_timeout_seconds` (1 s) holds, so seconds past this mean it is not following the agent."""
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


def log_in(fake: FakeCxone) -> None:
    """Logs the agent in; call before the server starts. A connector whose agent is not logged in is
    refused and joins again with backoff (1, 2, 4, ... s, up to a minute), so an agent logged in by
    the step would be joined anywhere from at once to well after the step's waits."""
    fake.login(AGENT)


def _polls(fake: FakeCxone) -> int:
    """How many get-next-event requests the tenant has had (each takes the next fault, if any)."""
    return sum(path.endswith("/get-next-event") for _, path in fake.requests)


async def agent_event_to_signal(ctx: Demo) -> None:
    """An agent's call event flows from CXone into ccbridge and back out as a Signal call."""
    fake, runtime = ctx.cxone, ctx.srv.runtime
    if fake is None or runtime is None:
        ctx.check("fake CXone tenant and in-process server", "present", "missing")
        return
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

    # the server's connector runner holds the tenant's lease and follows the agent's session; what it
    # reads is stored through the same path as every event, idempotent by the platform id
    await _until(lambda: AGENT in fake.sessions and _polls(fake) > 0, within=FOLLOWING_WITHIN)
    polls = _polls(fake)
    fake.fail("get-next-event", 503)  # a passing fault: retried on the same session
    fake.drop("get-next-event", after_answer=True)  # an answer lost on the wire: read again
    # a poll already waiting when the faults were set would take the events unharmed: queue them once
    # the 503 was answered. The connector backs off at least 0.5 s before its next poll, which takes
    # the drop and holds up to 1 s for events, so queueing them within 1.5 s of the 503 is enough
    await _until(lambda: _polls(fake) > polls, within=FOLLOWING_WITHIN)
    fake.push(AGENT, {"Type": "AgentState", "CurrentState": "Available", "IISHost": "demo", "VCHost": "demo"})
    fake.push(
        AGENT, {"Type": "CallContactEvent", "ContactID": CONTACT, "Status": "Active", "Skill": "billing-vip"}
    )
    await _until(lambda: len(fake.signals) >= 1)
    stored = 0
    for event_type in AGENT_TYPES[:2]:
        page = (await ctx.api.get(EVENTS, params={"type": event_type})).json()
        stored += len(page.get("items", []))
    status = await _connector_status(ctx)
    ctx.check("a 503, then a dropped answer: the same events answered again", 1, fake.reanswered)
    ctx.check("agent events stored, each once", 2, stored)
    ctx.check(
        "Signal call: contact and p1, p2", [(CONTACT, {"p1": "billing-vip", "p2": "Active"})], fake.signals
    )
    final = await ctx.status_when(sub_id, lambda s: counts(s)[0] == 1)
    ctx.check("delivery-status (delivered, pending, retrying, dead)", (1, 0, 0, 0), counts(final))
    sessions = status.get("sessions") or [{}]
    ctx.check(
        "GET /api/v2/connectors: the runner holds it",
        "connected, session held",
        f"{status.get('state')}, " + ("session held" if sessions[0].get("sessionId") else "no session"),
    )
    ctx.check("one token for the agent source and the Signal call", 1, fake.token_grants)


async def _connector_status(ctx: Demo) -> dict[str, Any]:
    """The connector's entry in `GET /api/v2/connectors` once it says connected (or after a while)."""
    entry: dict[str, Any] = {}
    for _ in range(100):
        entities = (await ctx.api.get("/api/v2/connectors")).json().get("entities", [])
        entry = next((e for e in entities if e.get("name") == CONNECTOR), {})
        if entry.get("state") == "connected" and entry.get("sessions"):
            return entry
        await asyncio.sleep(0.1)
    return entry


async def _until(predicate: Any, within: float = 8.0) -> None:
    """Returns once `predicate()` holds or `within` seconds passed (the checks after it tell which)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if predicate() or asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.02)
