"""Both stores tell the size of each group commit (for `ccbridge_store_commit_batch_size`)."""

from __future__ import annotations

import asyncio

from ccbridge.core.ports import Store
from ccbridge.testing.samples import sample_event as event


async def test_every_append_is_counted_in_some_commit_batch(store: Store) -> None:
    sizes: list[int] = []
    store.observe_commit_batches(sizes.append)  # type: ignore[attr-defined]
    await asyncio.gather(*(store.append_event(event(i)) for i in range(60)))
    assert sizes and all(n >= 1 for n in sizes)
    assert sum(sizes) >= 60
    assert len(sizes) < 60  # concurrent appends share commits: that is what the figure shows
