"""Accepted events and idempotency: `EventLog`, `IdempotencyRecords`, and the `Router` a store
routes with.

Contracts: `append_event` stores an event with one pending delivery per endpoint its `Router`
names, in one commit (so a 2xx covers the deliveries); a repeated idempotency key within
`IDEMPOTENCY_WINDOW` writes nothing and answers the original event; routing sees every
subscription committed before the call began; past the store's `max_pending` limit nothing is
written and `Overloaded` is raised. The `Router` runs inside that write transaction, pure and
synchronous. An `IdempotentRecord` (a stored API answer) commits with the change it answers and is
found again while younger than its window. The store-wide contract of `ccbridge.core.ports` applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ccbridge.core.event import EndpointSpec, Event, Subscription
from ccbridge.core.times import IDEMPOTENCY_WINDOW


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What `append_event` did: `created` is False when the idempotency key was seen before and
    `event` is then the original event; `deliveries` counts the rows written with it."""

    event: Event
    created: bool
    deliveries: int = 0


@dataclass(frozen=True, slots=True)
class IdempotentRecord:
    """A stored API response, answered again for a repeated `Idempotency-Key` with the same body."""

    scope: str
    key: str
    body_hash: str
    status: int
    response: dict[str, Any]
    created_at: float


class Router(Protocol):
    """Decides, inside the store's write transaction, which endpoints an event goes to.

    Called by the writer with the subscriptions that exist at that moment, so a 2xx covers the
    deliveries too. Pure and synchronous.
    """

    def route(self, event: Event) -> list[tuple[str, EndpointSpec]]: ...

    def replace(self, subscriptions: Sequence[Subscription]) -> None: ...


class EventLog(Protocol):
    """Accepted events, de-duplicated by idempotency key."""

    async def append_event(self, event: Event) -> AppendResult:
        """Store `event` with one pending delivery per endpoint the router names, in one commit.

        When `event.idempotency_key` was appended within `IDEMPOTENCY_WINDOW`, nothing is written
        and the result carries the original event with `created` False. After the window the key
        starts a new event. Routing sees every subscription committed before this call began.

        Backpressure: when the store has a `max_pending` limit and the event's deliveries would take
        the unsettled deliveries across the store past it, nothing is written and `Overloaded` (with
        `retry_after`) is raised. Repeats of a stored key and events that route nowhere still pass.
        """
        ...

    async def get_event(self, event_id: str) -> Event | None: ...


class IdempotencyRecords(Protocol):
    """Stored API answers for `Idempotency-Key`, written in the same commit as the change they answer."""

    async def get_idempotent(
        self, scope: str, key: str, max_age: float = IDEMPOTENCY_WINDOW
    ) -> IdempotentRecord | None:
        """The record for (`scope`, `key`) when it is younger than `max_age` seconds."""
        ...
