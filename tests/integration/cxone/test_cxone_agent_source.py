"""The CXone agent event source against a fake tenant over loopback HTTP: sessions joined and
long-polled, each event stored once, and drops, 429, 5xx, expired tokens and ended sessions survived
with every lost window reported as a gap."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cxone_support import GAP_TYPE, ClockWait, MemorySink, StoreSink, make_connector, running, until

from ccbridge.connectors.cxone.agent_events import platform_id
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.cxone import API, FakeCxone

AGENT = "agent-1"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def wait(clock: ManualClock) -> ClockWait:
    return ClockWait(clock)


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeCxone]:
    async with FakeCxone(clock=clock, max_hold=1.0) as cx:
        cx.login(AGENT)
        yield cx


def polls(fake: FakeCxone) -> list[str]:
    """The session id of every get-next-event request, in order."""
    return [p.split("/")[-2] for m, p in fake.requests if p.endswith("/get-next-event")]


async def test_each_event_is_stored_once_with_its_type(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """Joined as the agent (asAgentId in body and query), each event becomes `cxone.agent.<Type>` with
    the event as data, after one token grant and one discovery."""
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink()
    events = [
        {"Type": "AgentState", "CurrentState": "Available"},
        {"Type": "CallContactEvent", "ContactID": "9"},
    ]
    async with running(connector, sink):
        fake.push(AGENT, *events)
        await until(lambda: len(sink.stored) == 2)
    assert sorted(t for t, _ in sink.stored.values()) == [
        "cxone.agent.AgentState",
        "cxone.agent.CallContactEvent",
    ]
    assert sorted(sink.data(), key=str) == sorted(events, key=str)
    assert fake.joins[0] == {"body": {"asAgentId": AGENT}, "query": {"asAgentId": AGENT}}
    assert fake.token_grants == 1
    assert ("GET", "/.well-known/cxone-configuration") in fake.requests
    assert sink.repeats == 0 and sink.gaps == []


async def test_each_poll_uses_the_session_id_of_the_last_answer(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """Session rotation: after a 200 the next poll names the answer's sessionId, so nothing is re-read."""
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink()
    async with running(connector, sink):
        for n in range(3):
            fake.push(AGENT, {"Type": "AgentState", "n": n})
            await until(lambda n=n: len(sink.stored) == n + 1)
    session_ids = list(dict.fromkeys(polls(fake)))
    assert len(session_ids) >= 4  # the joined id and one per answer
    assert sink.repeats == 0 and len(fake.joins) == 1


async def test_a_dropped_answer_is_read_again_and_stored_once(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """A connection dropped after the answer was sent: the re-poll with the same id gets the same
    events, which the sink stores once; the session survives, so there is no gap."""
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink()
    async with running(connector, sink):
        await until(lambda: len(polls(fake)) >= 1)
        fake.drop("get-next-event", after_answer=True)
        fake.push(AGENT, {"Type": "AgentState", "CurrentState": "Unavailable"})
        await until(lambda: len(sink.stored) == 1)
        fake.push(AGENT, {"Type": "AgentState", "CurrentState": "Available"})
        await until(lambda: len(sink.stored) == 2)
    assert fake.reanswered == 1  # the re-poll named the previous id and got the same events
    assert sink.repeats == 0  # the dropped answer never reached the sink: read once, stored once
    assert len(fake.joins) == 1 and sink.gaps == []


async def test_a_re_read_batch_is_de_duplicated_by_its_hash(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """The same event answered twice (a poll repeated with the previous id) is offered twice and
    stored once: its platform id is a hash of the agent and the event."""
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink()
    event = {"Type": "AgentState", "CurrentState": "Available", "StartTimeUTC": "2026-12-03T10:00:00Z"}
    async with running(connector, sink):
        fake.push(AGENT, event)
        await until(lambda: len(sink.stored) == 1)
        fake.push(AGENT, dict(reversed(list(event.items()))))  # the same event, keys in another order
        await until(lambda: sink.offered == 2)
    assert len(sink.stored) == 1 and sink.repeats == 1
    assert platform_id(AGENT, event) == platform_id(AGENT, dict(reversed(list(event.items()))))
    assert platform_id(AGENT, event) != platform_id("agent-2", event)


async def test_429_and_5xx_are_retried_on_the_same_session(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """503 twice and a 429 with Retry-After: 7 are retried with backoff (7 s as a floor) on the same
    session; nothing is lost and no gap is reported."""
    fake.fail("get-next-event", 503, times=2)
    fake.fail("get-next-event", 429, retry_after="7")
    fake.push(AGENT, {"Type": "AgentState", "CurrentState": "Available"})
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink()
    async with running(connector, sink):
        await until(lambda: len(sink.stored) == 1)
    assert len(wait.delays) == 3 and wait.delays[2] >= 7
    assert len(fake.joins) == 1 and sink.gaps == []


async def test_join_answering_5xx_and_a_dropped_join_are_retried(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """The first join meets a 502 and a dropped connection, then joins; no gap (no session was held)."""
    fake.fail("join", 502)
    fake.drop("join")
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink()
    async with running(connector, sink):
        fake.push(AGENT, {"Type": "AgentState"})
        await until(lambda: len(sink.stored) == 1)
    assert len(fake.joins) == 1  # the two failed tries never reached the handler's join
    assert len(wait.delays) == 2 and sink.gaps == []


async def test_a_revoked_token_is_renewed_once_on_401(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """A token the platform expires early answers 401: renewed once, the poll repeated, no gap."""
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink()
    async with running(connector, sink):
        fake.push(AGENT, {"Type": "AgentState", "n": 1})
        await until(lambda: len(sink.stored) == 1)
        fake.revoke_tokens()  # a poll already in flight was let in; the next one meets the 401
        fake.push(AGENT, {"Type": "AgentState", "n": 2})
        await until(lambda: len(sink.stored) == 2 and fake.token_grants == 2)
    assert fake.unauthorized >= 1
    assert len(fake.joins) == 1 and sink.gaps == []


async def test_the_token_is_renewed_before_it_expires(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """Near its expiry (inside the 60 s margin) the token is replaced before the next call, so the
    platform never sees an expired token."""
    connector, auth = make_connector(fake, clock, wait)
    sink = MemorySink()
    async with running(connector, sink):
        await until(lambda: len(polls(fake)) >= 1)
        first_expiry = auth.token_expires_at
        assert first_expiry is not None
        clock.advance(fake.token_lifetime - 30)
        fake.push(AGENT, {"Type": "AgentState"})
        await until(lambda: len(sink.stored) == 1 and fake.token_grants == 2)
    assert fake.unauthorized == 0
    assert auth.token_expires_at is not None and auth.token_expires_at > first_expiry


async def test_an_ended_session_is_joined_again_and_the_gap_reported(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """A session the platform dropped (404 on its id) is joined again with backoff; the window from
    the last answer to the new join is one gap naming the agent."""
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink()
    async with running(connector, sink):
        fake.push(AGENT, {"Type": "AgentState", "n": 1})
        await until(lambda: len(sink.stored) == 1)
        fake.end_session(AGENT)
        await until(lambda: len(fake.joins) == 2)
        fake.push(AGENT, {"Type": "AgentState", "n": 2})
        await until(lambda: len(sink.stored) == 2)
    assert len(sink.gaps) == 1
    gap = sink.gaps[0]
    assert gap["connector"] == "cx-test" and gap["topics"] == [f"agent:{AGENT}"]
    assert gap["from"] < gap["to"]  # the backoff before the join moved the clock
    assert connector.status()["lastGap"]["topics"] == [f"agent:{AGENT}"]


async def test_a_logged_out_agent_is_rejoined_with_growing_backoff(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """AgentSessionEnd is stored and ends the session; refused joins back off longer each time; the
    agent logging in again is joined, and the whole window is one gap."""
    connector, _ = make_connector(fake, clock, wait)
    connector.followers[0]._rng = random.Random(7)
    sink = MemorySink()
    async with running(connector, sink):
        await until(lambda: len(polls(fake)) >= 1)
        fake.logout(AGENT)
        await until(lambda: len(fake.joins) >= 5)
        fake.login(AGENT)
        await until(lambda: connector.followers[0].state == "connected" and len(sink.gaps) == 1)
    assert ("cxone.agent.AgentSessionEnd", {"Type": "AgentSessionEnd"}) in sink.stored.values()
    refused = wait.delays[1:5]
    assert refused == sorted(refused) and refused[-1] > refused[0]
    assert len(sink.gaps) == 1


async def test_an_event_the_store_cannot_take_is_kept_and_retried(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """A sink that raises (a full disk) is offered the same event again after a backoff, before any
    further poll: it is stored once, not dropped."""
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink(fail=2)
    async with running(connector, sink):
        fake.push(AGENT, {"Type": "AgentState"})
        await until(lambda: len(sink.stored) == 1)
    assert sink.offered == 3 and len(wait.delays) == 2


async def test_status_shows_sessions_and_token_expiry_without_secrets(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """`status()` names each agent's session, the token's expiry and the last message, never a secret
    or the token itself."""
    connector, _ = make_connector(fake, clock, wait, agents=[AGENT, "agent-2"])
    fake.login("agent-2")
    sink = MemorySink()
    async with running(connector, sink):
        fake.push("agent-2", {"Type": "AgentState"})
        await until(lambda: len(sink.stored) == 1)
        status = connector.status()
    assert status["state"] == "connected"
    assert {s["agentId"] for s in status["sessions"]} == {AGENT, "agent-2"}
    assert all(s["sessionId"] for s in status["sessions"])
    assert status["tokenExpiresAt"].endswith("Z") and status["lastMessageAt"] is not None
    text = json.dumps(status)
    assert fake.credentials[1] not in text and fake.client[1] not in text and "at-" not in text
    assert connector.status()["state"] == "stopped"


async def test_through_the_real_store_nothing_is_stored_twice(
    tmp_path: Path, fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """Drops, 429, 5xx, a revoked token and an ended session, with a sink that stores through the
    real SQLite store by idempotency key: every pushed event is stored exactly once, plus one gap."""
    store = SqliteStore(str(tmp_path / "cx.db"), SubscriptionRouter(), clock=clock)
    await store.open()
    sink = StoreSink(store, clock)
    connector, _ = make_connector(fake, clock, wait)
    pushed = 0

    def push() -> None:
        nonlocal pushed
        pushed += 1
        fake.push(AGENT, {"Type": "AgentState", "n": pushed})

    try:
        async with running(connector, sink):
            push()
            await until(lambda: sink.created == 1)
            fake.drop("get-next-event", after_answer=True)
            fake.fail("get-next-event", 503)
            push()
            await until(lambda: sink.created == 2)
            fake.fail("get-next-event", 429, retry_after="2")
            fake.revoke_tokens()
            push()
            await until(lambda: sink.created == 3)
            fake.end_session(AGENT)
            await until(lambda: len(fake.joins) == 2)
            push()
            await until(lambda: sink.created == 5)  # the event and the gap
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "cx.db") as db:
        rows = db.execute("SELECT type, data FROM events").fetchall()
    agent_events = sorted(json.loads(d)["n"] for t, d in rows if t == "cxone.agent.AgentState")
    assert agent_events == [1, 2, 3, 4]
    assert [t for t, _ in rows].count(GAP_TYPE) == 1
    assert sink.repeats == 0
    assert any(p == f"{API}/agent-sessions/join" for _, p in fake.requests)


async def test_stop_ends_a_long_poll_in_flight(clock: ManualClock, wait: ClockWait) -> None:
    """A poll held open by the platform (30 s) is cancelled when stop is set: `run` returns at once
    rather than after the hold, and the session is not counted as lost (no gap)."""
    async with FakeCxone(clock=clock, max_hold=30.0) as fake:
        fake.login(AGENT)
        connector, _ = make_connector(fake, clock, wait, poll_timeout_seconds=30)
        sink = MemorySink()
        async with running(connector, sink):  # exits only once run returned (within its 10 s bound)
            await until(lambda: len(polls(fake)) == 1)
        assert connector.status()["state"] == "stopped" and sink.gaps == []


async def test_stop_while_the_store_refuses_returns(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """A store that keeps failing does not keep `run` from returning on stop; the event read but not
    stored is reported as a gap, and the reason is in the status."""
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink(fail=10**6)
    async with running(connector, sink):
        fake.push(AGENT, {"Type": "AgentState"})
        await until(lambda: sink.offered >= 3)
    assert sink.stored == {} and len(sink.gaps) == 1
    assert "store could not take" in (connector.status()["sessions"][0]["lastError"] or "")


async def test_a_huge_retry_after_is_capped_at_an_hour(
    fake: FakeCxone, clock: ManualClock, wait: ClockWait
) -> None:
    """A 429 asking for a day waits an hour at most, then polls again."""
    fake.fail("get-next-event", 429, retry_after="86400")
    fake.push(AGENT, {"Type": "AgentState"})
    connector, _ = make_connector(fake, clock, wait)
    sink = MemorySink()
    async with running(connector, sink):
        await until(lambda: len(sink.stored) == 1)
    assert wait.delays[0] == 3600
