"""The `EndpointHealth` contract every backend passes: breaker transitions applied atomically and
shared between store instances on the same data, waiting deliveries woken when the breaker closes
or the endpoint is disabled, and the rate limiter's slots shared across instances."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from store_backends import Feature

from ccbridge.core.endpoint_health import BreakerPolicy
from ccbridge.core.ports import Settlement, Store
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event as event
from ccbridge.testing.samples import sample_subscription as subscription

POLICY = BreakerPolicy(failures=3, probe_initial_seconds=10, probe_max_seconds=40, disable_after_seconds=1000)
URL = "http://127.0.0.1/s/0"


async def fail(store: Store, n: int, owner: str = "w1", error: str = "HTTP 503") -> None:
    for _ in range(n):
        await store.record_attempt("s1", URL, owner, "failed", error, POLICY)


async def test_an_endpoint_without_failures_has_no_record_and_is_admitted(store: Store) -> None:
    """A healthy endpoint costs nothing: no record, and a success on it writes none."""
    assert await store.admit_delivery("s1", URL, "w1", POLICY) == ("send", None)
    assert await store.record_attempt("s1", URL, "w1", "ok", None, POLICY) is None
    assert await store.endpoint_health() == []


async def test_consecutive_failures_open_the_breaker_and_a_success_resets_them(
    store: Store, clock: ManualClock
) -> None:
    """Failures count until a success; `failures` in a row open the breaker with the first probe due."""
    await fail(store, 2)
    reset = await store.record_attempt("s1", URL, "w1", "ok", None, POLICY)
    assert reset is not None and reset.failures == 0 and reset.state == "closed"
    await fail(store, 2)
    [record] = await store.endpoint_health("s1")
    assert (record.state, record.failures) == ("closed", 2)
    await fail(store, 1, error="HTTP 500")
    [record] = await store.endpoint_health()
    assert (record.state, record.failures, record.last_error) == ("open", 3, "HTTP 500")
    assert record.next_probe_at == clock.t + 10


async def test_one_probe_at_a_time_with_backoff_and_a_success_closes(
    store: Store, clock: ManualClock
) -> None:
    """An open breaker admits nothing until the probe is due, then exactly one probe; a failed probe
    doubles the wait, a successful one closes the breaker."""
    await fail(store, 3)
    verdict, until = await store.admit_delivery("s1", URL, "w1", POLICY)
    assert (verdict, until) == ("wait", clock.t + 10)
    clock.advance(10)
    assert (await store.admit_delivery("s1", URL, "w1", POLICY))[0] == "probe"
    assert (await store.admit_delivery("s1", URL, "w2", POLICY))[0] == "wait"
    await fail(store, 1, owner="w1")
    [record] = await store.endpoint_health()
    assert record.state == "open" and record.next_probe_at == clock.t + 20
    clock.advance(20)
    assert (await store.admit_delivery("s1", URL, "w2", POLICY))[0] == "probe"
    closed = await store.record_attempt("s1", URL, "w2", "ok", None, POLICY)
    assert closed is not None and closed.state == "closed" and closed.failures == 0
    assert (await store.admit_delivery("s1", URL, "w1", POLICY))[0] == "send"


async def test_a_probe_held_by_a_crashed_owner_is_given_again_after_its_lease(
    store: Store, clock: ManualClock
) -> None:
    """The probe is held for its lease only, so a prober that died does not stop probing."""
    await fail(store, 3)
    clock.advance(10)
    assert (await store.admit_delivery("s1", URL, "w1", POLICY))[0] == "probe"
    clock.advance(31)
    assert (await store.admit_delivery("s1", URL, "w2", POLICY))[0] == "probe"


async def test_failing_past_the_limit_disables_and_410_disables_at_once(
    store: Store, clock: ManualClock
) -> None:
    """Failures over `disable_after_seconds` disable the endpoint, unannounced until marked; a
    410 disables another at once; attempts on a disabled endpoint change nothing."""
    await fail(store, 3)
    clock.advance(1000)
    await fail(store, 1)
    [record] = await store.endpoint_health()
    assert (record.state, record.disabled_by, record.notified) == ("disabled", "breaker", False)
    assert await store.admit_delivery("s1", URL, "w1", POLICY) == ("disabled", None)
    assert await store.record_attempt("s1", URL, "w1", "ok", None, POLICY) is None
    assert record.disabled_at is not None
    await store.mark_disabled_notified("s1", URL, record.disabled_at)
    [marked] = await store.endpoint_health()
    assert marked.notified and marked.state == "disabled"
    gone = await store.record_attempt("s1", "http://127.0.0.1/s/1", "w1", "gone", "HTTP 410", POLICY)
    assert gone is not None and (gone.state, gone.disabled_by) == ("disabled", "gone")


async def test_an_operator_enables_and_disables(store: Store) -> None:
    """Enable closes the breaker with counts reset; disable needs no event (notified)."""
    await fail(store, 3)
    enabled = await store.set_endpoint_enabled("s1", URL, True)
    assert (enabled.state, enabled.failures) == ("closed", 0)
    disabled = await store.set_endpoint_enabled("s1", URL, False)
    assert (disabled.state, disabled.disabled_by, disabled.notified) == ("disabled", "operator", True)
    assert (await store.admit_delivery("s1", URL, "w1", POLICY))[0] == "disabled"


async def test_closing_the_breaker_makes_its_waiting_deliveries_due_now(
    store: Store, clock: ManualClock
) -> None:
    """Deliveries deferred to a later probe are due at once when the breaker closes, and only that
    endpoint's."""
    await store.create_subscription(subscription("s1", "s", endpoints=2), 10)
    await store.append_event(event(1))
    jobs = await store.lease("w1", 10, 30)
    assert len(jobs) == 2
    await store.settle(
        "w1", [Settlement(j.id, "retry", 0, error="waiting", next_attempt_at=clock.t + 500) for j in jobs]
    )
    await fail(store, 3)
    assert await store.next_due() == clock.t + 500
    clock.advance(10)
    assert (await store.admit_delivery("s1", URL, "w1", POLICY))[0] == "probe"
    await store.record_attempt("s1", URL, "w1", "ok", None, POLICY)
    [due] = await store.lease("w1", 10, 30)
    assert due.endpoint.url == URL and due.attempt == 1


@pytest.mark.needs(Feature.SHARED)
async def test_failures_recorded_at_once_by_two_instances_all_count(make_store: Callable[[], Store]) -> None:
    """Two processes recording failures concurrently: every one counts (atomic read-modify-write)."""
    a, b = make_store(), make_store()
    await a.open()
    await b.open()
    try:
        big = BreakerPolicy(failures=1000, disable_after_seconds=1e9)
        await asyncio.gather(
            *(s.record_attempt("s1", URL, "w", "failed", "x", big) for s in (a, b) for _ in range(20))
        )
        [record] = await b.endpoint_health()
        assert record.failures == 40
    finally:
        await a.close()
        await b.close()


@pytest.mark.needs(Feature.SHARED)
async def test_rate_slots_are_shared_between_instances(
    make_store: Callable[[], Store], clock: ManualClock
) -> None:
    """At 2 a second, each call reserves the next slot, half a second apart for both instances
    together; a slot less than a quarter second ahead counts as now."""
    a, b = make_store(), make_store()
    await a.open()
    await b.open()
    try:
        waits = await asyncio.gather(*(s.take_rate_slot("s1 u", 2) for s in (a, b, a, b)))
        assert sorted(waits) == [0.0, 0.5, 1.0, 1.5]
        clock.advance(1.8)
        assert await b.take_rate_slot("s1 u", 2) == 0.0  # the slot at 2.0 is 0.2 s ahead
        assert await a.take_rate_slot("s1 u", 2) == pytest.approx(0.7)
        assert await a.take_rate_slot("other", 2) == 0.0
    finally:
        await a.close()
        await b.close()


async def test_a_wait_commits_the_deliverys_deferral_with_the_breakers_answer(
    store: Store, clock: ManualClock
) -> None:
    """Told to wait, the leased delivery is re-queued for the probe in the same commit (its lease
    given back, its attempt count as given), so a close right after wakes it."""
    await store.create_subscription(subscription("s1", "s"), 10)
    await store.append_event(event(1))
    [job] = await store.lease("d1", 10, 30)
    await fail(store, 3)
    waiting = Settlement(job.id, "retry", 0, error="waiting")
    verdict, until = await store.admit_delivery("s1", URL, "g1", POLICY, waiting, "d1")
    assert (verdict, until) == ("wait", clock.t + 10)
    assert await store.next_due() == clock.t + 10
    await store.set_endpoint_enabled("s1", URL, True)
    [again] = await store.lease("d2", 10, 30)
    assert again.id == job.id and again.attempt == 1
