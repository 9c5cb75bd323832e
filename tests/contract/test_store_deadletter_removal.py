"""Contract of `DeadLetterRemoval`: chosen dead letters are deleted, nothing else is touched."""

from __future__ import annotations

from ccbridge.core.ports import Settlement, Store
from ccbridge.testing.samples import sample_event as event
from ccbridge.testing.samples import sample_subscription as subscription


async def _dead(store: Store, count: int) -> list[int]:
    """`count` events to one endpoint, every delivery settled dead; their delivery ids."""
    for n in range(1, count + 1):
        await store.append_event(event(n))
    jobs = await store.lease("w1", 10, 30)
    await store.settle("w1", [Settlement(j.id, "dead", 1, status=400, error="HTTP 400") for j in jobs])
    return sorted(j.id for j in jobs)


async def test_discards_only_the_chosen_dead_letters(store: Store) -> None:
    """The named dead letters go; the others stay listed; a repeat deletes nothing."""
    await store.create_subscription(subscription("s1", "a"), 10)
    first, second, third = await _dead(store, 3)
    assert await store.discard_dead_letters([first, third]) == 2
    assert [d.id for d in await store.list_dead_letters()] == [second]
    assert await store.discard_dead_letters([first, third]) == 0
    assert await store.discard_dead_letters([]) == 0


async def test_live_and_delivered_deliveries_are_not_dead_letters(store: Store) -> None:
    """An id of a pending or delivered delivery is left alone: the discard answers 0 and it still delivers."""
    await store.create_subscription(subscription("s1", "a"), 10)
    await store.append_event(event(1))
    await store.append_event(event(2))
    delivered, pending = sorted(await store.lease("w1", 10, 30), key=lambda j: j.id)
    await store.settle("w1", [Settlement(delivered.id, "delivered", 1, status=200)])
    await store.release("w1", [pending.id])
    assert await store.discard_dead_letters([delivered.id, pending.id]) == 0
    counts = await store.delivery_counts("s1")
    assert (counts.delivered, counts.pending) == (1, 1)
    [again] = await store.lease("w2", 10, 30)
    assert again.id == pending.id
