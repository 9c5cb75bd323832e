"""The endpoint port: one transport that delivers one attempt, and the attempt it is given.

Contracts: an `Attempt` carries everything a try needs (exact body bytes, headers already signed,
the per-call deadline), so an adapter never reads the store; `Endpoint.send` may run concurrently,
maps every failure of its library to an `Outcome` rather than raising (only programming errors
raise), and never persists anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ccbridge.core.event import DeliveryJob, Outcome


@dataclass(frozen=True, slots=True)
class Attempt:
    """Everything an endpoint adapter needs for one try; it never reads the store.

    `body` is the exact bytes to send (a webhook's body, a gRPC Event's payload); `headers` are
    already signed; `timeout` is the per-call deadline in seconds.
    """

    job: DeliveryJob
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0


class Endpoint(Protocol):
    """One transport (webhook, gRPC, queue).

    `send` is safe to call concurrently; it maps every failure of its library to an Outcome and
    never raises for a delivery problem (only for programming errors). It never persists anything.
    """

    async def send(self, attempt: Attempt) -> Outcome: ...

    async def aclose(self) -> None: ...
