"""Settle many deliveries with one store call.

Why: every store call is a job for the single writer thread (a SAVEPOINT, a future, a wake-up of the
event loop); at thousands of deliveries a second, one call per delivery would make the writer a
bottleneck. Deliveries that finish while a settle call is being committed
wait for the next call and go together, so the batch grows with the load and a lone delivery is
settled at once, with no timer.

A caller's `settle` returns only once its settlement is committed (or raises what the store raised),
exactly as a direct store call would, so the dispatcher's accounting and shutdown are unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from ccbridge.core.ports import Settlement

Flush = Callable[[Sequence[Settlement]], Awaitable[None]]
MAX_BATCH = 512


class SettleBatcher:
    def __init__(self, flush: Flush) -> None:
        self._flush = flush
        self._waiting: list[tuple[Settlement, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def settle(self, settlement: Settlement) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((settlement, future))
        if self._task is None:
            # started on the next loop iteration, so deliveries finishing in this one join the batch
            self._task = asyncio.create_task(self._drain(), name="ccbridge-settle")
        await future

    async def flushed(self) -> None:
        """Returns once every settlement handed over so far is committed (or failed), even those
        whose callers were cancelled meanwhile."""
        while self._task is not None:
            await asyncio.wait({self._task})

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    await self._flush([settlement for settlement, _ in batch])
                except Exception as exc:  # every waiter of the batch learns the commit failed
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._task = None
