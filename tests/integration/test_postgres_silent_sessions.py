"""A pooled PostgreSQL session that silently stops carrying bytes (a NAT or firewall forgot it: no
FIN, no RST) must not hang the store: a statement on it ends as `Unavailable` within the store's
command timeout, the session is dropped and the next operation opens a fresh one, and `close()`
ends. On the machine's PostgreSQL through a loopback relay (`ccbridge.testing.relay`) that freezes
every session it carries; each test in a schema of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ccbridge.core.routing import SubscriptionRouter
from ccbridge.errors import Unavailable
from ccbridge.stores.postgres import PostgresStore
from ccbridge.stores.postgres.listening import ListenPolicy
from ccbridge.testing.relay import Relay
from ccbridge.testing.samples import sample_subscription as subscription

COMMAND_TIMEOUT = 1.0
WAIT = 15.0  # what an awaited outcome gets before the test fails: far above COMMAND_TIMEOUT


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    async with Relay(5432) as relay:
        yield relay
        await relay.cut()


def store_through(relay: Relay, schema: str) -> PostgresStore:
    """One pooled session at most, so the session the test froze is the one the next operation gets."""
    return PostgresStore(
        f"postgresql://postgres@127.0.0.1:{relay.port}/test",
        SubscriptionRouter(),
        schema=schema,
        pool_size=1,
        command_timeout=COMMAND_TIMEOUT,
        listening=ListenPolicy(check_every=60.0, check_timeout=COMMAND_TIMEOUT),
    )


async def test_a_statement_on_a_frozen_session_is_unavailable_and_the_next_one_reconnects(
    relay: Relay, schema: str
) -> None:
    store = store_through(relay, schema)
    await store.open()
    try:
        await store.create_subscription(subscription("s1", "a"), 10)
        relay.freeze()
        with pytest.raises(Unavailable):
            await asyncio.wait_for(store.list_subscriptions(), WAIT)
        subs = await asyncio.wait_for(store.list_subscriptions(), WAIT)
        assert [s.id for s in subs] == ["s1"]
    finally:
        await asyncio.wait_for(store.close(), WAIT)


async def test_close_ends_while_every_session_is_frozen(relay: Relay, schema: str) -> None:
    store = store_through(relay, schema)
    await store.open()
    await store.list_subscriptions()
    relay.freeze()
    await asyncio.wait_for(store.close(), WAIT)
    assert not store.listener.connected
