"""Fixtures of the store contract: `store` (opened, on a manual clock), `make_store` for tests that
open several instances and `make_limited` for a store with a pending limit, each parametrized over
the backends of `store_backends.BACKENDS` that declare the features the test asks for with
`@pytest.mark.needs(...)`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from store_backends import BACKENDS, Backend, Feature

from ccbridge.core.ports import Store
from ccbridge.testing.clock import ManualClock


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*features): the store features a contract test relies on")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    needed: set[Feature] = set()
    for mark in metafunc.definition.iter_markers("needs"):
        needed.update(mark.args)
    chosen = [b for b in BACKENDS if needed <= b.features]
    metafunc.parametrize("backend", chosen, ids=[b.name for b in chosen])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def place(backend: Backend, tmp_path: Path) -> AsyncIterator[Path]:
    """Where the test's data lives; what the backend keeps outside it is dropped after the test."""
    yield tmp_path
    if backend.drop is not None:
        await backend.drop(tmp_path)


@pytest.fixture
def make_store(backend: Backend, place: Path, clock: ManualClock) -> Callable[[], Store]:
    return lambda: backend.make(place, clock, None)


@pytest.fixture
def make_limited(backend: Backend, place: Path, clock: ManualClock) -> Callable[[int], Store]:
    """A store enforcing `max_pending` (the `limits.max_pending` backpressure)."""
    return lambda max_pending: backend.make(place, clock, max_pending)


@pytest.fixture
async def store(make_store: Callable[[], Store]) -> AsyncIterator[Store]:
    s = make_store()
    await s.open()
    yield s
    await s.close()
