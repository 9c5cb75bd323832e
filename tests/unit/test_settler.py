"""SettleBatcher: settlements finishing together share one store call; each caller sees its commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from ccbridge.core.ports import Settlement
from ccbridge.delivery.settler import MAX_BATCH, SettleBatcher


class SlowStore:
    """Records each flush; a flush takes one loop turn per `delay` and may be told to fail."""

    def __init__(self) -> None:
        self.flushes: list[list[int]] = []
        self.fail_next = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def settle(self, batch: Sequence[Settlement]) -> None:
        self.flushes.append([s.delivery_id for s in batch])
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")


def settlement(n: int) -> Settlement:
    return Settlement(n, "delivered", 1, status=200)


async def test_settlements_of_one_loop_turn_share_one_call() -> None:
    store = SlowStore()
    batcher = SettleBatcher(store.settle)
    await asyncio.gather(*(batcher.settle(settlement(n)) for n in range(10)))
    assert store.flushes == [list(range(10))]


async def test_settlements_arriving_during_a_commit_go_in_the_next_call() -> None:
    store = SlowStore()
    store.gate.clear()
    batcher = SettleBatcher(store.settle)
    first = asyncio.create_task(batcher.settle(settlement(1)))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert store.flushes == [[1]]  # the first commit is under way
    later = [asyncio.create_task(batcher.settle(settlement(n))) for n in (2, 3)]
    await asyncio.sleep(0)
    assert not first.done()
    store.gate.set()
    await asyncio.gather(first, *later)
    assert store.flushes == [[1], [2, 3]]


async def test_a_failed_commit_raises_in_every_caller_of_its_batch_only() -> None:
    store = SlowStore()
    store.fail_next = True
    batcher = SettleBatcher(store.settle)
    results = await asyncio.gather(*(batcher.settle(settlement(n)) for n in range(3)), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    await batcher.settle(settlement(9))  # the next batch commits
    assert store.flushes[-1] == [9]


async def test_a_flood_is_split_into_bounded_calls() -> None:
    store = SlowStore()
    batcher = SettleBatcher(store.settle)
    total = MAX_BATCH * 2 + 5
    await asyncio.gather(*(batcher.settle(settlement(n)) for n in range(total)))
    assert [len(f) for f in store.flushes] == [MAX_BATCH, MAX_BATCH, 5]
    assert sorted(n for f in store.flushes for n in f) == list(range(total))


@pytest.mark.parametrize("state", ["retry", "dead"])
async def test_every_state_passes_through_unchanged(state: str) -> None:
    seen: list[Settlement] = []

    async def flush(batch: Sequence[Settlement]) -> None:
        seen.extend(batch)

    batcher = SettleBatcher(flush)
    item = Settlement(5, state, 2, status=503, error="HTTP 503", next_attempt_at=1.0)  # type: ignore[arg-type]
    await batcher.settle(item)
    assert seen == [item]
