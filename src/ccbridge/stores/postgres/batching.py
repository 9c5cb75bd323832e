"""Group commit for PostgreSQL appends: concurrent callers' events written in one transaction.

Why: a commit costs a WAL flush and every statement a round trip, so one transaction per event caps
ingestion at a few hundred events a second. One task takes everything queued while the previous
batch was committing and hands it to the store's batch job, which writes it with a fixed number of
statements; there is no artificial delay when the load is light (a lone event is a batch of one).
A caller's future resolves only after COMMIT returned, which is the 2xx promise. The job returns
one result or exception per item (one item's failure, say `Overloaded`, fails that item alone);
when the job itself raises, the transaction is gone and every item of the batch fails with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from ccbridge.errors import Unavailable

In = TypeVar("In")
Out = TypeVar("Out")

MAX_BATCH = 256


class GroupCommitter(Generic[In, Out]):
    """Feeds `job` batches of at most `max_batch` submitted items, one batch at a time."""

    def __init__(
        self,
        job: Callable[[Sequence[In]], Awaitable[Sequence[Out | BaseException]]],
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._job = job
        self._max_batch = max_batch
        self._queue: list[tuple[In, asyncio.Future[Out]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batches = 0
        self.jobs = 0
        self.on_batch: Callable[[int], None] | None = None  # told each batch's size (metrics)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ccbridge-pg-group-commit")

    async def stop(self) -> None:
        """Commit what is queued, then stop; later submissions raise `Unavailable`."""
        if self._task is None:
            return
        task, self._task = self._task, None
        self._stopping = True
        self._wake.set()
        await task

    async def submit(self, item: In) -> Out:
        if self._stopping:
            raise Unavailable("the store is closing", retry_after=1.0)
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                await self._commit(batch)
            if self._stopping:
                return

    async def _commit(self, batch: list[tuple[In, asyncio.Future[Out]]]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        if self.on_batch is not None:
            self.on_batch(len(batch))
        try:
            results = await self._job([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                if not future.done():
                    future.cancel()
            raise
        except Exception as exc:
            results = [exc] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller went away (cancelled); its item was written or not with the rest
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
