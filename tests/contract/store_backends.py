"""The store backends the contract suite runs against, and what each declares it supports.

A backend is a factory: `make(place, clock, max_pending)` returns an unopened `Store` (enforcing
`limits.max_pending` when it is not None); two calls with the same `place` reach the same data (two
processes on one database). A contract test that needs more than
the basic contract names the features it needs (`@pytest.mark.needs(Feature.X)`); it runs against
every backend declaring them and is not generated for the others (nothing is skipped). Adding a
backend is adding a row to `BACKENDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ccbridge.core.ports import Clock, Store
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.stores.sqlite import SqliteStore


class Feature(StrEnum):
    SHARED = "shared"
    """Several store instances on the same `place` see each other's writes (several processes)."""

    DURABLE = "durable"
    """What a returned call committed survives closing the store and opening it again."""


@dataclass(frozen=True)
class Backend:
    name: str
    make: Callable[[Path, Clock, int | None], Store]
    features: frozenset[Feature]


def _sqlite(place: Path, clock: Clock, max_pending: int | None) -> Store:
    return SqliteStore(str(place / "store.db"), SubscriptionRouter(), clock=clock, max_pending=max_pending)


BACKENDS: tuple[Backend, ...] = (Backend("sqlite", _sqlite, frozenset({Feature.SHARED, Feature.DURABLE})),)
