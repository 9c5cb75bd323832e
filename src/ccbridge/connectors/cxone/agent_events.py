"""Following one agent's CXone session: join it, long-poll its events, store each one once.

The protocol (CXone Agent API, v30.0, under the tenant's `api_endpoint`):
  * `POST /agent-sessions/join` joins the agent's running session as a supervisor does; the agent is
    named as `{"asAgentId": ...}` in the JSON body (as the issue and NICE's older samples send it)
    and as the `asAgentId` query parameter (as the v30 reference documents it). 200/201/202 answer
    `{sessionId}`; a 4xx (the agent is not logged in, no such agent) is a refusal.
  * `GET /agent-sessions/{sessionId}/get-next-event?timeout=N` (N 0-60 s) holds until events arrive or
    N passes. 304: nothing new. 200: `{sessionId, events: [...]}`; the answer's `sessionId` is the one
    to poll with next. An event `{"Type": "AgentSessionEnd"}` ends the session. 400/404/409/410 on a
    poll mean the session id is no longer valid (NICE does not document which; these are the ones
    its samples treat as an ended session).

Contract (`AgentFollower.run`):
  * every event read is handed to `EventSink.deliver` (type `cxone.agent.<Type>`, data = the event,
    `platform_id` = a SHA-256 of the agent id and the event's canonical JSON, since CXone's agent
    events carry no id of their own) before the next poll; a sink that raises is retried with
    backoff with the same events, so nothing read is dropped and a re-read is stored once.
  * the next poll uses the answer's session id only once its events are stored.
  * 429 and 5xx, timeouts and dropped connections are retried on the same session with backoff
    (429's Retry-After as a floor): the session, and the events it queues, survive them.
  * an ended or refused session is joined again with backoff; the window from the last answer of
    the old session to the join of the new one (or to `stop`) is reported once with
    `EventSink.gap` (topics `agent:<id>`), since events of the lost session may be gone.
  * the token is renewed before expiry and once on a 401 (`connectors.cxone.api.call`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
import structlog

from ccbridge.connectors.base import EventSink
from ccbridge.connectors.cxone.api import Answer, call
from ccbridge.connectors.cxone.auth import CxoneAuth
from ccbridge.core.ports import Clock
from ccbridge.core.retry import MAX_RETRY_AFTER
from ccbridge.errors import AuthError, Retryable

log = structlog.get_logger("ccbridge.connectors.cxone")

SESSION_GONE = frozenset({400, 404, 409, 410})
SESSION_END_TYPE = "AgentSessionEnd"
EVENT_PREFIX = "cxone.agent."

Wait = Callable[[float, asyncio.Event], Awaitable[None]]
"""Waits `seconds` or until the event is set, whichever comes first (injected so tests need not sleep)."""


async def wait_or_stop(seconds: float, stop: asyncio.Event) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential delays between failed tries, with equal jitter: in [base/2, base], base capped; a
    Retry-After floor is honoured up to `core.retry.MAX_RETRY_AFTER` (an hour)."""

    initial: float = 1.0
    cap: float = 60.0

    def delay(self, failures: int, rng: random.Random, floor: float | None = None) -> float:
        base = min(self.cap, self.initial * 2.0 ** min(failures - 1, 32))
        delay = base / 2 + rng.random() * base / 2
        return max(delay, min(floor or 0.0, MAX_RETRY_AFTER))


class SessionGone(Exception):
    """The session ended or was refused: join again."""


class Stopped(Exception):
    """`stop` was set while a call was waiting for its answer (the call is cancelled)."""


async def unless_stopped(call_: Awaitable[Answer], stop: asyncio.Event) -> Answer:
    """The call's answer, or Stopped as soon as `stop` is set (a long poll must not delay a stop)."""
    task = asyncio.ensure_future(call_)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise Stopped
    return task.result()


def platform_id(agent_id: str, event: Any) -> str:
    """A stable id for an agent event (CXone's carry none): the same event read twice has the same id."""
    canonical = orjson.dumps([agent_id, event], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def event_type(event: Any) -> str:
    kind = event.get("Type") if isinstance(event, dict) else None
    return EVENT_PREFIX + (kind if isinstance(kind, str) and kind else "Unknown")


class AgentFollower:
    """One agent's session; `status()` is what the connector status shows for it."""

    def __init__(
        self,
        connector: str,
        agent_id: str,
        auth: CxoneAuth,
        clock: Clock,
        *,
        poll_timeout: int = 30,
        wait: Wait = wait_or_stop,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.connector = connector
        self.agent_id = agent_id
        self._auth = auth
        self._clock = clock
        self._poll_timeout = poll_timeout
        self._wait = wait
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self.session_id: str | None = None
        self.state = "connecting"
        self.joined_at: float | None = None
        self.last_message_at: float | None = None
        self.last_gap: dict[str, Any] | None = None
        self.last_error: str | None = None
        self.joins = 0
        self._lost_at: float | None = None  # set while no session is held after one was lost
        self._last_answer: float | None = None
        self._failures = 0

    @property
    def topic(self) -> str:
        return f"agent:{self.agent_id}"

    async def run(self, sink: EventSink, stop: asyncio.Event) -> None:
        """Follows the session until `stop` is set; reports a gap still open at that moment."""
        while not stop.is_set():
            try:
                if self.session_id is None:
                    await self._join(sink, stop)
                else:
                    await self._poll(sink, stop)
                self._failures = 0
                self.last_error = None
                if self.session_id is not None:
                    self.state = "connected"
            except Stopped:
                break
            except SessionGone as exc:
                self._lose(str(exc))
                await self._pause(stop, None)
            except Retryable as exc:
                self.last_error = str(exc)
                await self._pause(stop, exc.retry_after)
            except AuthError as exc:
                self.last_error = str(exc)
                await self._pause(stop, None)
            except Exception as exc:  # a bug or an unforeseen answer must not end the other agents' loops
                self.last_error = f"unexpected {type(exc).__name__}"
                log.error(
                    "cxone follower error",
                    connector=self.connector,
                    agent=self.agent_id,
                    error=type(exc).__name__,
                )
                await self._pause(stop, None)
        if self._lost_at is not None:
            await self._report_gap(sink, stop_time=self._clock.now(), retry=False)
        self.state = "stopped"

    def status(self) -> dict[str, Any]:
        return {
            "agentId": self.agent_id,
            "sessionId": self.session_id,
            "state": self.state,
            "joinedAt": self.joined_at,
            "lastMessageAt": self.last_message_at,
            "lastGap": self.last_gap,
            "lastError": self.last_error,
        }

    async def _pause(self, stop: asyncio.Event, floor: float | None) -> None:
        self._failures += 1
        if self.state != "stopped":
            self.state = "backoff"
        await self._wait(self._backoff.delay(self._failures, self._rng, floor), stop)

    def _lose(self, reason: str) -> None:
        if self.session_id is not None:  # a first join refused loses nothing: no session was held
            self._lost_at = self._last_answer or self._clock.now()
        log.warning("cxone session lost", connector=self.connector, agent=self.agent_id, reason=reason)
        self.session_id = None
        self.last_error = reason

    async def _join(self, sink: EventSink, stop: asyncio.Event) -> None:
        answer = await unless_stopped(
            call(
                self._auth,
                "POST",
                "/agent-sessions/join",
                params={"asAgentId": self.agent_id},
                json={"asAgentId": self.agent_id},
            ),
            stop,
        )
        _raise_transient(answer, "join")
        session = answer.body.get("sessionId") if isinstance(answer.body, dict) else None
        if answer.status not in (200, 201, 202) or not isinstance(session, str) or not session:
            raise SessionGone(f"join refused (HTTP {answer.status})")
        self.session_id = session
        self.joins += 1
        self.joined_at = self._last_answer = self._clock.now()
        self.state = "connected"
        if self._lost_at is not None:
            await self._report_gap(sink, stop_time=self.joined_at, retry=True)

    async def _report_gap(self, sink: EventSink, *, stop_time: float, retry: bool) -> None:
        """Stores the open gap; when `retry`, a sink failure is raised (the caller backs off and the
        gap stays open, to be stored before the next poll); at stop it is logged instead."""
        start = self._lost_at if self._lost_at is not None else stop_time
        try:
            await sink.gap(connector=self.connector, topics=[self.topic], start=start, end=stop_time)
        except Exception as exc:
            if retry:
                raise Retryable(f"the gap could not be stored: {type(exc).__name__}") from None
            log.error("cxone gap not stored", connector=self.connector, agent=self.agent_id)
            return
        self._lost_at = None
        self.last_gap = {"from": start, "to": stop_time, "topics": [self.topic]}

    async def _poll(self, sink: EventSink, stop: asyncio.Event) -> None:
        if self._lost_at is not None:  # a gap the sink could not take yet: store it first
            await self._report_gap(sink, stop_time=self.joined_at or self._clock.now(), retry=True)
        session = self.session_id
        answer = await unless_stopped(
            call(
                self._auth,
                "GET",
                f"/agent-sessions/{quote(session or '', safe='')}/get-next-event",
                params={"timeout": str(self._poll_timeout)},
                within=self._poll_timeout + 15.0,
            ),
            stop,
        )
        _raise_transient(answer, "get-next-event")
        if answer.status == 304:
            self._last_answer = self._clock.now()
            return
        if answer.status in SESSION_GONE:
            raise SessionGone(f"session ended (HTTP {answer.status})")
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise SessionGone(f"get-next-event answered HTTP {answer.status}")
        self._last_answer = self._clock.now()
        events = answer.body.get("events")
        ended = False
        for event in events if isinstance(events, list) else []:
            await self._store(sink, event, stop)
            ended = ended or (isinstance(event, dict) and event.get("Type") == SESSION_END_TYPE)
        following = answer.body.get("sessionId")
        if isinstance(following, str) and following:
            self.session_id = following
        if ended:
            raise SessionGone("the agent session ended (AgentSessionEnd)")

    async def _store(self, sink: EventSink, event: Any, stop: asyncio.Event) -> None:
        """Hands one event to the sink until it takes it; a read event is dropped only when `stop`
        comes while the store cannot take it (logged, with the session left unacknowledged)."""
        failures = 0
        while True:
            try:
                await sink.deliver(
                    connector=self.connector,
                    event_type=event_type(event),
                    data=event,
                    platform_id=platform_id(self.agent_id, event),
                    metadata={"cxoneAgentId": self.agent_id},
                )
            except Exception as exc:  # the store cannot take it now: keep it and try again
                failures += 1
                self.last_error = f"the event could not be stored: {type(exc).__name__}"
                if stop.is_set():
                    log.error("cxone event not stored at stop", connector=self.connector, agent=self.agent_id)
                    raise SessionGone("stopped while the store could not take an event") from None
                await self._wait(self._backoff.delay(failures, self._rng), stop)
                continue
            self.last_message_at = self._clock.now()
            return


def _raise_transient(answer: Answer, what: str) -> None:
    if answer.status in (408, 429) or answer.status >= 500:
        raise Retryable(f"{what} answered HTTP {answer.status}", answer.retry_after)
    if answer.status == 401:
        raise AuthError(f"{what} answered HTTP 401 with a renewed token")
