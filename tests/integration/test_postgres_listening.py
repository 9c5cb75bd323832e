"""The PostgreSQL store's LISTEN session survives being dropped: it is reopened, LISTENs again, and
what the gap hid (NOTIFYs sent while nobody listened) is made up for by one wake-up and one
subscription refresh. On the machine's PostgreSQL, each test in a schema of its own; the session is
ended with `pg_terminate_backend` (its pid from the connection), and a loopback relay
(`ccbridge.testing.relay`) refuses, holds or silently swallows connections where a test needs the
reconnect to fail, hang or the loss to be silent."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import pytest
from structlog.testing import capture_logs

from ccbridge.core.routing import SubscriptionRouter
from ccbridge.stores.postgres import PostgresStore
from ccbridge.stores.postgres.listening import LISTENER_TASK, Listener, ListenPolicy
from ccbridge.testing.relay import Relay
from ccbridge.testing.samples import sample_event as event
from ccbridge.testing.samples import sample_subscription as subscription
from ccbridge.testing.server import running_server, wait_until

URL = os.environ.get("CCBRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "pw-never-logged-789"  # trust authentication ignores it; the logs must not show it
FAST = ListenPolicy(first_delay=0.02, max_delay=0.1, check_every=30.0, check_timeout=5.0)
WAIT = 15.0  # seconds any awaited condition gets before the test fails


def relayed(relay: Relay) -> str:
    return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{relay.port}/test"


@pytest.fixture
async def make(schema: str) -> AsyncIterator[Callable[..., PostgresStore]]:
    """Stores on the test's schema (through `url`, with `policy`), closed when the test ends."""
    made: list[PostgresStore] = []

    def factory(url: str = URL, policy: ListenPolicy = FAST, pool_size: int = 10) -> PostgresStore:
        store = PostgresStore(url, SubscriptionRouter(), schema=schema, listening=policy, pool_size=pool_size)
        made.append(store)
        return store

    yield factory
    for store in made:
        await store.close()


def listen_pid(store: PostgresStore) -> int:
    pid = store.listener.server_pid
    assert pid is not None, "the listener is not connected"
    return pid


async def terminate(pid: int) -> None:
    admin = await asyncpg.connect(URL)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


def waker(store: PostgresStore) -> asyncio.Event:
    """Set each time `store` calls its listeners (what wakes its dispatchers)."""
    woken = asyncio.Event()
    store.add_listener(woken.set)
    return woken


async def test_a_terminated_listen_session_is_reopened_and_hears_due_deliveries(
    make: Callable[..., PostgresStore],
) -> None:
    """(a) After pg_terminate_backend the listener reconnects and wakes the dispatchers once (the gap
    may have hidden NOTIFYs); then another instance's commit of due deliveries wakes them again."""
    first, second = make(), make()
    await first.open()
    await second.open()
    await second.create_subscription(subscription("s1", "a"), 10)
    woken = waker(first)
    before = listen_pid(first)
    await terminate(before)
    await asyncio.wait_for(woken.wait(), WAIT)  # the wake-up after the reconnect
    assert listen_pid(first) != before
    woken.clear()
    assert (await second.append_event(event(1))).deliveries == 1
    await asyncio.wait_for(woken.wait(), WAIT)  # the NOTIFY reached the new session
    assert first.stats["listener_connected"] == 1 and first.stats["listener_reconnects"] == 1


async def test_after_a_reconnect_a_subscription_change_elsewhere_reaches_the_cache(
    make: Callable[..., PostgresStore],
) -> None:
    """(b) After the reconnect (whose own refresh, when it takes under `check_timeout`, is done by
    the time the listeners are called), a subscription created by another instance reaches this
    one's cache with no call on this one."""
    first, second = make(), make()
    await first.open()
    await second.open()
    woken = waker(first)
    await terminate(listen_pid(first))
    await asyncio.wait_for(woken.wait(), WAIT)
    assert first.cached_subscription("s2") is None
    await second.create_subscription(subscription("s2", "b"), 10)

    async def cached() -> bool:
        return first.cached_subscription("s2") is not None

    assert await wait_until(cached, timeout=WAIT)


async def test_what_the_gap_hid_is_caught_up_and_logged_once_each(make: Callable[..., PostgresStore]) -> None:
    """While the listener cannot reconnect (new connections refused), another instance creates a
    subscription and commits due deliveries: both NOTIFYs are lost. Once connections are let through
    again, the reconnect refreshes the cache and wakes the dispatchers. Loss and recovery are logged
    once each, naming the database with its password masked; the stats show the state throughout."""
    async with Relay(5432) as relay:
        first, second = make(relayed(relay)), make()
        await first.open()
        await second.open()
        woken = waker(first)
        assert first.stats["listener_connected"] == 1
        with capture_logs() as logs:
            await relay.refuse()
            await terminate(listen_pid(first))

            async def failing() -> bool:
                return first.stats["listener_failed_attempts"] >= 2

            assert await wait_until(failing, timeout=WAIT)
            assert first.stats["listener_connected"] == 0 and first.listener.server_pid is None
            await second.create_subscription(subscription("s1", "a"), 10)
            assert (await second.append_event(event(1))).deliveries == 1
            assert not woken.is_set() and first.cached_subscription("s1") is None
            await relay.restore()
            await asyncio.wait_for(woken.wait(), WAIT)
        assert first.cached_subscription("s1") is not None
        assert first.stats["listener_connected"] == 1 and first.stats["listener_reconnects"] == 1
        lines = [e for e in logs if e["event"].startswith("store_listener")]
        assert [e["event"] for e in lines] == ["store_listener_lost", "store_listener_recovered"]
        assert all(e["database"] == f"postgresql://postgres:***@127.0.0.1:{relay.port}/test" for e in lines)
        assert lines[1]["attempts"] >= 3
        assert PASSWORD not in repr(logs)


@pytest.mark.parametrize("fault", ["refused", "hanging"])
async def test_close_during_the_reconnect_loop_leaves_nothing_running(
    make: Callable[..., PostgresStore], fault: str
) -> None:
    """(c) Closing while the listener is between failed attempts (connections refused) or inside
    one (a connect that never completes) ends its task: nothing of it is left on the loop, and it
    stays disconnected."""
    async with Relay(5432) as relay:
        store = make(relayed(relay), ListenPolicy(first_delay=0.02, max_delay=0.1, check_timeout=60.0))
        await store.open()
        [task] = [t for t in asyncio.all_tasks() if t.get_name() == LISTENER_TASK]
        if fault == "refused":
            await relay.refuse()
        else:
            relay.hold()
        await terminate(listen_pid(store))
        if fault == "refused":

            async def failing() -> bool:
                return store.stats["listener_failed_attempts"] >= 1

            assert await wait_until(failing, timeout=WAIT)
        else:
            await asyncio.wait_for(relay.held.wait(), WAIT)  # a reconnect is waiting on its connect
        assert not task.done()
        await store.close()
        assert task.done()
        assert not [t for t in asyncio.all_tasks() if t.get_name() == LISTENER_TASK]
        assert store.listener.server_pid is None and store.stats["listener_connected"] == 0


async def test_a_silently_dropped_session_is_found_by_the_periodic_check(
    make: Callable[..., PostgresStore],
) -> None:
    """A session that stops carrying bytes without closing (no FIN, no RST: a NAT or firewall that
    forgot it) raises no termination; the periodic check finds it unanswered and reconnects. The
    pool's one session is frozen too, so the refresh after the reconnect hangs until the store's
    command timeout (60 s): the wake must not wait for it."""
    async with Relay(5432) as relay:
        first = make(
            relayed(relay),
            ListenPolicy(first_delay=0.02, max_delay=0.1, check_every=0.2, check_timeout=0.5),
            pool_size=1,
        )
        second = make()
        await first.open()
        await second.open()
        await second.create_subscription(subscription("s1", "a"), 10)
        woken = waker(first)
        before = listen_pid(first)
        relay.freeze()
        await asyncio.wait_for(woken.wait(), WAIT)
        assert listen_pid(first) != before
        woken.clear()
        await second.append_event(event(1))
        await asyncio.wait_for(woken.wait(), WAIT)
        await relay.cut()  # the frozen pool session would hold up the store's close


async def test_metrics_show_whether_the_listener_is_connected(schema: str) -> None:
    """`ccbridge_store_listener_connected` is 1 on a server on PostgreSQL, 0 while its listener
    cannot reconnect, 1 again once it has."""
    async with Relay(5432) as relay:
        store = {"url": relayed(relay), "postgres_schema": schema}
        async with running_server({"store": store}) as srv, httpx.AsyncClient(base_url=srv.base_url) as web:
            assert srv.runtime is not None and isinstance(srv.runtime.store, PostgresStore)

            def reads(value: int) -> Callable[[], object]:
                async def check() -> bool:
                    text = (await web.get("/metrics")).text
                    return f"ccbridge_store_listener_connected {value}.0" in text.splitlines()

                return check

            assert await wait_until(reads(1), timeout=WAIT)
            await relay.refuse()
            await terminate(listen_pid(srv.runtime.store))
            assert await wait_until(reads(0), timeout=WAIT)
            await relay.restore()
            assert await wait_until(reads(1), timeout=WAIT)


async def test_a_server_on_sqlite_has_no_listener_metric() -> None:
    async with running_server() as srv, httpx.AsyncClient(base_url=srv.base_url) as web:
        assert "ccbridge_store_listener_connected" not in (await web.get("/metrics")).text


async def test_the_wake_after_a_reconnect_does_not_wait_for_a_refresh_that_will_not_end() -> None:
    """The refresh after a reconnect stalls and, like asyncpg releasing a session whose bytes stopped
    flowing, goes on waiting when cancelled: the wake comes anyway, `check_timeout` after the
    reconnect, and `close()` ends the refresh once it can end."""
    released = asyncio.Event()
    refreshes = 0

    async def stalling_refresh() -> None:
        nonlocal refreshes
        refreshes += 1
        while not released.is_set():
            try:
                await released.wait()
            except asyncio.CancelledError:
                continue  # what a release blocked on a dead session does: it cannot stop early

    woken = asyncio.Event()
    listener = Listener(
        URL,
        {"application_name": "ccbridge listener-test"},
        "this-instance",
        "ccb_test_due",
        "ccb_test_subs",
        wake=woken.set,
        refresh=stalling_refresh,
        policy=ListenPolicy(first_delay=0.02, max_delay=0.1, check_every=30.0, check_timeout=0.3),
    )
    await listener.start()
    try:
        pid = listener.server_pid
        assert pid is not None
        await terminate(pid)
        await asyncio.wait_for(woken.wait(), WAIT)
        assert refreshes == 1 and listener.connected
    finally:
        released.set()
        await asyncio.wait_for(listener.close(), WAIT)
