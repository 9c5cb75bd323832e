"""The `ConnectorLeases` contract every backend passes: one holder per connector name, renewals only
by the holder before expiry, release hands the lease on, and the last status is kept for everyone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from store_backends import Feature

from ccbridge.core.ports import Store
from ccbridge.testing.clock import ManualClock


async def test_a_free_lease_is_taken_and_a_held_one_refused(store: Store) -> None:
    """The first owner gets the lease; a second owner is refused while it is held."""
    assert await store.acquire_connector("gc", "a", 10)
    assert not await store.acquire_connector("gc", "b", 10)
    assert await store.acquire_connector("gc", "a", 10)  # the holder asking again keeps it
    [lease] = await store.connector_leases()
    assert (lease.name, lease.owner) == ("gc", "a")


async def test_an_expired_lease_is_anyones(store: Store, clock: ManualClock) -> None:
    """Once `ttl` passes without renewal another owner takes it, and the old owner cannot renew."""
    assert await store.acquire_connector("gc", "a", 10)
    clock.advance(10)
    assert await store.acquire_connector("gc", "b", 10)
    assert not await store.renew_connector("gc", "a", 10)
    [lease] = await store.connector_leases()
    assert lease.owner == "b" and lease.expires_at == clock.t + 10


async def test_renewal_extends_and_stores_the_status(store: Store, clock: ManualClock) -> None:
    """A renewal before expiry moves the expiry on and keeps the status JSON it carries."""
    assert await store.acquire_connector("gc", "a", 10)
    clock.advance(9)
    assert await store.renew_connector("gc", "a", 10, {"state": "connected", "channels": [{"id": "c1"}]})
    clock.advance(9)
    assert not await store.acquire_connector("gc", "b", 10)
    assert await store.renew_connector("gc", "a", 10)  # no status: the stored one stays
    [lease] = await store.connector_leases()
    assert lease.status == {"state": "connected", "channels": [{"id": "c1"}]}


async def test_a_late_renewal_fails_even_when_nobody_took_it(store: Store, clock: ManualClock) -> None:
    """Renewing an expired lease is refused: its owner must stop, then acquire again."""
    assert await store.acquire_connector("gc", "a", 10)
    clock.advance(11)
    assert not await store.renew_connector("gc", "a", 10)
    assert await store.acquire_connector("gc", "a", 10)


async def test_release_hands_the_lease_on_and_keeps_the_status(store: Store) -> None:
    """After release the next owner takes it at once; a release by a non-holder changes nothing."""
    assert await store.acquire_connector("gc", "a", 10)
    await store.release_connector("gc", "b", {"state": "bogus"})
    assert not await store.acquire_connector("gc", "b", 10)
    await store.release_connector("gc", "a", {"state": "stopped"})
    [lease] = await store.connector_leases()
    assert (lease.owner, lease.expires_at, lease.status) == (None, None, {"state": "stopped"})
    assert await store.acquire_connector("gc", "b", 10)


async def test_leases_are_per_name(store: Store) -> None:
    """Two connectors' leases are independent, listed by name."""
    assert await store.acquire_connector("zz", "a", 10)
    assert await store.acquire_connector("aa", "b", 10)
    assert [(x.name, x.owner) for x in await store.connector_leases()] == [("aa", "b"), ("zz", "a")]


@pytest.mark.needs(Feature.SHARED)
async def test_racing_stores_never_both_hold_a_lease(make_store: Callable[[], Store]) -> None:
    """Several store instances on one place (several replicas) race for each of 20 leases: one wins each."""
    stores = [make_store() for _ in range(3)]
    for s in stores:
        await s.open()
    try:
        for n in range(20):
            won = await asyncio.gather(
                *(s.acquire_connector(f"c{n}", f"owner-{i}", 30) for i, s in enumerate(stores))
            )
            assert sum(won) == 1, won
        owners = {lease.owner for lease in await stores[0].connector_leases()}
        assert len(await stores[1].connector_leases()) == 20 and owners <= {"owner-0", "owner-1", "owner-2"}
    finally:
        for s in stores:
            await s.close()
