"""`CxoneConnector`: one configured CXone tenant as a `connectors.base.Connector`.

It follows every configured agent's session at once (one `AgentFollower` each) and shares the
tenant's `CxoneAuth` with the Signal endpoint, so both use one token. A tenant with no agents
configured (Signal only) runs idle until stopped.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from ccbridge.config.connectors import CxoneConnectorConfig
from ccbridge.connectors.base import EventSink
from ccbridge.connectors.cxone.agent_events import AgentFollower, Backoff, Wait, wait_or_stop
from ccbridge.connectors.cxone.auth import CxoneAuth
from ccbridge.core.ports import Clock
from ccbridge.core.times import SystemClock, iso_or_none


class CxoneConnector:
    """The agent event source of one tenant; `run` and `status` as `connectors.base.Connector` says."""

    kind = "cxone"

    def __init__(
        self,
        config: CxoneConnectorConfig,
        auth: CxoneAuth,
        *,
        clock: Clock | None = None,
        wait: Wait = wait_or_stop,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.auth = auth
        clock = clock or SystemClock()
        self.followers = [
            AgentFollower(
                config.name,
                agent,
                auth,
                clock,
                poll_timeout=config.poll_timeout_seconds,
                wait=wait,
                backoff=backoff,
                rng=rng,
            )
            for agent in config.agents
        ]
        self._running = False

    @property
    def name(self) -> str:
        return self.config.name

    async def run(self, sink: EventSink, stop: asyncio.Event) -> None:
        self._running = True
        try:
            async with asyncio.TaskGroup() as group:
                for follower in self.followers:
                    group.create_task(follower.run(sink, stop))
                if not self.followers:
                    group.create_task(stop.wait())
        finally:
            self._running = False

    def status(self) -> dict[str, Any]:
        sessions = [f.status() for f in self.followers]
        states = {s["state"] for s in sessions}
        if not self._running:
            state = "stopped"
        elif not sessions or states == {"connected"}:
            state = "connected"
        elif "backoff" in states:
            state = "backoff"
        else:
            state = "connecting"
        last_message = max((f.last_message_at for f in self.followers if f.last_message_at), default=None)
        gaps = [f.last_gap for f in self.followers if f.last_gap]
        last_gap = max(gaps, key=lambda g: g["to"], default=None)
        return {
            "state": state,
            "lastMessageAt": iso_or_none(last_message),
            "lastGap": None if last_gap is None else _render_gap(last_gap),
            "tokenExpiresAt": iso_or_none(self.auth.token_expires_at),
            "sessions": [
                {
                    **s,
                    "joinedAt": iso_or_none(s["joinedAt"]),
                    "lastMessageAt": iso_or_none(s["lastMessageAt"]),
                    "lastGap": None if s["lastGap"] is None else _render_gap(s["lastGap"]),
                }
                for s in sessions
            ],
        }


def _render_gap(gap: dict[str, Any]) -> dict[str, Any]:
    return {"from": iso_or_none(gap["from"]), "to": iso_or_none(gap["to"]), "topics": gap["topics"]}
