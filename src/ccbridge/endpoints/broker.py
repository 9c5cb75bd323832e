"""What the two message-broker endpoints (NATS, RabbitMQ) share: the headers a message carries, the
network policy check of a broker's host, and a cache of one connection per broker.

A broker message carries the same body as a webhook (`Attempt.body`, byte for byte) and, beside the
subscription's signed headers, the delivery's identity as headers of its own, so a consumer can route
and de-duplicate without parsing the body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from ccbridge.core.ports import Attempt

EVENT_ID = "ccbridge-event-id"
EVENT_TYPE = "ccbridge-event-type"
CORRELATION_ID = "ccbridge-correlation-id"
ATTEMPT = "ccbridge-attempt"
SUBSCRIPTION_ID = "ccbridge-subscription-id"


def message_headers(attempt: Attempt) -> dict[str, str]:
    """The subscription's (signed) headers plus the event id, type, correlation id and attempt number.

    The event id is the same value as a webhook's `webhook-id`: stable across attempts, so it
    de-duplicates redeliveries (a dead-letter forward has an id of its own).
    """
    job = attempt.job
    return {
        **attempt.headers,
        EVENT_ID: message_id(attempt),
        EVENT_TYPE: job.event.type,
        CORRELATION_ID: job.event.correlation_id,
        ATTEMPT: str(job.attempt),
        SUBSCRIPTION_ID: job.subscription_id,
    }


def message_id(attempt: Attempt) -> str:
    """The broker message's id: the event id, or `deadletter-<delivery id>` for a dead-letter forward
    (as `webhook-id` is built by the delivery layer, which endpoints do not import)."""
    job = attempt.job
    return job.event.id if job.kind == "event" else f"deadletter-{job.id}"


K = TypeVar("K", bound=Hashable)
C = TypeVar("C")


class Connections(Generic[K, C]):
    """One live connection per key, opened on first use and shared by later sends.

    Concurrent first sends share one connecting task, so a burst opens one connection, not one each.
    A connection `is_open` says is no longer usable is dropped and opened again on the next `get`;
    a failed open is not remembered, so the next send tries again.
    """

    def __init__(self, is_open: Callable[[C], bool], close: Callable[[C], Awaitable[None]]) -> None:
        self._is_open = is_open
        self._close = close
        self._tasks: dict[K, asyncio.Task[C]] = {}
        self._closing: set[asyncio.Future[None]] = set()

    async def get(self, key: K, open_: Callable[[], Awaitable[C]]) -> C:
        task = self._tasks.get(key)
        if task is not None and task.done() and not self._usable(task):
            del self._tasks[key]
            if not task.cancelled() and task.exception() is None:
                await self._quiet_close(task.result())
            task = None
        if task is None:

            async def opening() -> C:
                return await open_()

            task = self._tasks[key] = asyncio.ensure_future(opening())
        try:
            return await asyncio.shield(task)
        except BaseException:
            if task.done() and self._tasks.get(key) is task:
                del self._tasks[key]
            raise

    async def drop(self, key: K) -> None:
        """Forget (and close) `key`'s connection, e.g. after an error that leaves it unusable. One still
        opening (a send timed out while connecting) is closed once it opens: cancelling it would
        cancel the other sends waiting on it."""
        task = self._tasks.pop(key, None)
        if task is None:
            return
        if not task.done():
            task.add_done_callback(self._close_when_open)
        elif not task.cancelled() and task.exception() is None:
            await self._quiet_close(task.result())

    def _usable(self, task: asyncio.Task[C]) -> bool:
        return not task.cancelled() and task.exception() is None and self._is_open(task.result())

    def _close_when_open(self, task: asyncio.Task[C]) -> None:
        if not task.cancelled() and task.exception() is None:
            closing = asyncio.ensure_future(self._quiet_close(task.result()))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        tasks, self._tasks = self._tasks, {}
        for task in tasks.values():
            if not task.done():
                task.cancel()
            try:
                connection = await task
            except (Exception, asyncio.CancelledError):
                continue
            await self._quiet_close(connection)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def _quiet_close(self, connection: C) -> None:
        try:
            await self._close(connection)
        except Exception:  # closing a broken connection may fail; it is gone either way
            return
