"""The `RateLimits` contract every backend passes: a burst then the rate, refusals that write nothing
and say how long to wait, one budget per key shared by every store instance on the same data (the
replica case), the same answers as `core.rate_limit.take_token`, and a budget that outlives a
restart."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest
from store_backends import Feature

from ccbridge.core.ports import Store
from ccbridge.core.rate_limit import take_token
from ccbridge.testing.clock import ManualClock


async def test_a_burst_then_the_rate_and_a_refusal_says_how_long_to_wait(
    store: Store, clock: ManualClock
) -> None:
    """3 at once (the burst), then refused with 0.5 s to wait at 2/s; 0.5 s later one more, and the
    next waits a full interval again."""
    assert [await store.take_rate_token("k", 2, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await store.take_rate_token("k", 2, 3) == pytest.approx(0.5)
    clock.advance(0.25)
    assert await store.take_rate_token("k", 2, 3) == pytest.approx(0.25)
    clock.advance(0.25)
    assert await store.take_rate_token("k", 2, 3) == 0.0
    assert await store.take_rate_token("k", 2, 3) == pytest.approx(0.5)


async def test_refusals_do_not_use_up_the_budget(store: Store, clock: ManualClock) -> None:
    """A caller hammering a refused key waits no longer for it: the wait shrinks with time only."""
    assert await store.take_rate_token("k", 1, 1) == 0.0
    waits = [await store.take_rate_token("k", 1, 1) for _ in range(20)]
    assert waits == [pytest.approx(1.0)] * 20
    clock.advance(1.0)
    assert await store.take_rate_token("k", 1, 1) == 0.0


async def test_keys_have_budgets_of_their_own(store: Store) -> None:
    assert await store.take_rate_token("ingest:erp", 1, 1) == 0.0
    assert await store.take_rate_token("ingest:erp", 1, 1) > 0
    assert await store.take_rate_token("ingest:crm", 1, 1) == 0.0


async def test_a_budget_refills_completely_after_a_long_idle(store: Store, clock: ManualClock) -> None:
    """Idle time does not bank more than the burst."""
    for _ in range(2):
        assert await store.take_rate_token("k", 10, 2) == 0.0
    clock.advance(3600)
    assert [await store.take_rate_token("k", 10, 2) for _ in range(3)] == [
        0.0,
        0.0,
        pytest.approx(0.1, abs=1e-6),
    ]


async def test_the_answers_are_those_of_the_core_rule(store: Store, clock: ManualClock) -> None:
    """A seeded random sequence of requests at rates the float arithmetic does not round exactly
    (3/s): the store admits and refuses exactly as `take_token`, with the same waits."""
    rng = random.Random(15)
    tat: float | None = None
    for _ in range(200):
        clock.advance(rng.choice([0.0, 0.0, 0.1, 1 / 3, 0.05, 0.7]))
        new_tat, expected = take_token(tat, clock.t, 3, 4)
        tat = new_tat if new_tat is not None else tat
        got = await store.take_rate_token("k", 3, 4)
        assert (got == 0.0) == (expected == 0.0)
        assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.needs(Feature.SHARED)
async def test_two_instances_on_one_store_share_one_budget(
    make_store: Callable[[], Store], clock: ManualClock
) -> None:
    """Two replicas (store instances on the same file or database) hit one key at once, 20 requests
    each: together they are admitted the burst of 5, not 5 each; later they share the rate."""
    a, b = make_store(), make_store()
    await a.open()
    await b.open()
    try:
        waits = await asyncio.gather(*(s.take_rate_token("ingest:erp", 2, 5) for s in (a, b) * 20))
        assert sum(w == 0.0 for w in waits) == 5
        assert all(w == pytest.approx(0.5) for w in waits if w > 0)
        clock.advance(1.0)
        later = [await s.take_rate_token("ingest:erp", 2, 5) for s in (b, a, b)]
        assert [w == 0.0 for w in later] == [True, True, False]
    finally:
        await a.close()
        await b.close()


@pytest.mark.needs(Feature.DURABLE)
async def test_the_budget_outlives_a_restart(make_store: Callable[[], Store]) -> None:
    """A process that restarts (or a replica that replaces another) finds the budget spent."""
    first = make_store()
    await first.open()
    try:
        assert await first.take_rate_token("k", 1, 1) == 0.0
    finally:
        await first.close()
    second = make_store()
    await second.open()
    try:
        assert await second.take_rate_token("k", 1, 1) == pytest.approx(1.0)
    finally:
        await second.close()


async def test_a_rate_or_burst_the_config_would_refuse_is_a_value_error(store: Store) -> None:
    with pytest.raises(ValueError):
        await store.take_rate_token("k", 0, 1)
    with pytest.raises(ValueError):
        await store.take_rate_token("k", 1, 0)
