"""`ReadHealth`: an open store answers readiness's trivial query; a closed one says why not."""

from __future__ import annotations

from collections.abc import Callable

from ccbridge.core.ports import Store


async def test_an_open_store_answers_and_a_closed_one_does_not(make_store: Callable[[], Store]) -> None:
    store = make_store()
    await store.open()
    try:
        assert await store.read_problem() is None
    finally:
        await store.close()
    problem = await store.read_problem(within=1.0)
    assert isinstance(problem, str) and problem
