"""The delivery-history and replay-job contract (`DeliveryHistory`, `ReplayJobs`): every attempt recorded
with its settlement and gone with its delivery, event and delivery searches with stable cursors,
retrying one delivery, and replay jobs that resume and never queue a delivery twice."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from store_backends import Feature

from ccbridge.core.event import EndpointSpec, Event
from ccbridge.core.ports import (
    AttemptDetail,
    DeliveryQuery,
    EventQuery,
    ReplaySpec,
    Settlement,
    Store,
)
from ccbridge.errors import ConflictError, NotFoundError
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event as event
from ccbridge.testing.samples import sample_subscription as subscription


async def test_every_attempt_is_recorded_with_its_settlement(store: Store, clock: ManualClock) -> None:
    """A retry then a delivery leave two attempt records with their detail; a stale owner's settlement
    records nothing."""
    await store.create_subscription(subscription("s1", "a"), 10)
    await store.append_event(event(1))
    [job] = await store.lease("w1", 10, 30)
    started = clock.t
    detail = AttemptDetail("retry", started, 12.5, "busy \ufffd", "http_status")
    await store.settle("w1", [Settlement(job.id, "retry", 1, 503, "HTTP 503", clock.t + 5, detail=detail)])
    await store.settle("w1", [Settlement(job.id, "delivered", 1, 200)])  # no longer leased: ignored
    clock.t += 5
    [again] = await store.lease("w1", 10, 30)
    await store.settle(
        "w1",
        [Settlement(again.id, "delivered", 2, 200, detail=AttemptDetail("delivered", clock.t, 3.0, "ok"))],
    )
    first, second = await store.delivery_attempts(job.id) or []
    assert (first.attempt, first.outcome, first.status, first.error, first.error_class) == (
        1,
        "retry",
        503,
        "HTTP 503",
        "http_status",
    )
    assert (first.at, first.latency_ms, first.response_body) == (started, 12.5, "busy \ufffd")
    assert first.endpoint_url == "http://127.0.0.1/a/0" and first.endpoint_type == "webhook"
    assert (second.attempt, second.outcome, second.status, second.error, second.response_body) == (
        2,
        "delivered",
        200,
        None,
        "ok",
    )
    assert await store.delivery_attempts(job.id + 1000) is None


async def test_a_dead_settlement_without_detail_is_recorded_as_dead(store: Store, clock: ManualClock) -> None:
    """A settlement that carries no detail is still recorded, with what it says, at settle time."""
    await store.create_subscription(subscription("s1", "a"), 10)
    await store.append_event(event(1))
    [job] = await store.lease("w1", 10, 30)
    await store.settle("w1", [Settlement(job.id, "dead", 1, 410, "HTTP 410")])
    [record] = await store.delivery_attempts(job.id) or []
    assert (record.outcome, record.status, record.error, record.at, record.latency_ms) == (
        "dead",
        410,
        "HTTP 410",
        clock.t,
        None,
    )


async def test_attempts_go_with_their_delivery(store: Store, clock: ManualClock) -> None:
    """History retention and a dead-letter purge remove the deliveries' attempt records with them."""
    await store.create_subscription(subscription("s1", "a", endpoints=2), 10)
    await store.append_event(event(1))
    done, dead = await store.lease("w", 10, 30)
    await store.settle(
        "w", [Settlement(done.id, "delivered", 1, 200), Settlement(dead.id, "dead", 1, 400, "x")]
    )
    assert len(await store.delivery_attempts(done.id) or []) == 1
    clock.t += 31 * 86400
    assert await store.purge_history(clock.t - 30 * 86400) == (1, 0)
    assert await store.delivery_attempts(done.id) is None
    assert await store.purge_dead_letters(None) == 1
    assert await store.delivery_attempts(dead.id) is None
    await store.append_event(event(2))
    fresh = await store.lease("w", 10, 30)
    await store.settle("w", [Settlement(j.id, "delivered", 1, 200) for j in fresh])
    for j in fresh:  # no record of a removed delivery lingers under a reused id
        assert [a.delivery_id for a in await store.delivery_attempts(j.id) or []] == [j.id]


async def test_event_search_filters_and_pages_newest_first(store: Store, clock: ManualClock) -> None:
    """Type, time range and subscription narrow the events; cursors walk the pages without repeats."""
    await store.create_subscription(subscription("s1", "a"), 10)
    await store.create_subscription(subscription("s2", "b", type_="queue.event"), 10)
    start = clock.t
    for n in range(1, 8):
        await store.append_event(event(n, type_="contact.created" if n % 2 else "queue.event"))
        clock.t += 10
    page = await store.search_events(EventQuery(limit=3))
    assert [r.event.id for r in page.items] == ["evt-7", "evt-6", "evt-5"] and page.next_cursor is not None
    page2 = await store.search_events(EventQuery(limit=3, cursor=page.next_cursor))
    page3 = await store.search_events(EventQuery(limit=3, cursor=page2.next_cursor))
    assert [r.event.id for r in page2.items + page3.items] == ["evt-4", "evt-3", "evt-2", "evt-1"]
    assert page3.next_cursor is None
    typed = await store.search_events(EventQuery(type="queue.event"))
    assert [r.event.id for r in typed.items] == ["evt-6", "evt-4", "evt-2"]
    ranged = await store.search_events(EventQuery(from_ts=start + 10, to_ts=start + 30))
    assert [r.event.id for r in ranged.items] == ["evt-3", "evt-2"]
    assert ranged.items[0].received_ts == start + 20
    to_s1 = await store.search_events(EventQuery(subscription_id="s1"))
    assert [r.event.id for r in to_s1.items] == ["evt-7", "evt-5", "evt-3", "evt-1"]
    assert to_s1.items[0].deliveries == {"pending": 1}


async def test_an_event_with_its_deliveries_and_a_subscriptions_deliveries(
    store: Store, clock: ManualClock
) -> None:
    """The event shows each delivery's status; a subscription's deliveries filter by status and time."""
    await store.create_subscription(subscription("s1", "a", endpoints=3), 10)
    await store.append_event(event(1))
    one, two, three = await store.lease("w", 10, 30)
    await store.settle(
        "w",
        [
            Settlement(one.id, "delivered", 1, 200),
            Settlement(two.id, "retry", 1, 503, "HTTP 503", clock.t + 60),
            Settlement(three.id, "dead", 1, 400, "HTTP 400"),
        ],
    )
    found = await store.event_with_deliveries("evt-1")
    assert found is not None
    record, deliveries = found
    assert record.event.id == "evt-1" and record.deliveries == {"delivered": 1, "retrying": 1, "dead": 1}
    assert [(d.id, d.status, d.attempts) for d in deliveries] == [
        (one.id, "delivered", 1),
        (two.id, "retrying", 1),
        (three.id, "dead", 1),
    ]
    assert deliveries[1].next_attempt_at == clock.t + 60 and deliveries[0].next_attempt_at is None
    assert deliveries[2].last_error == "HTTP 400" and deliveries[2].event_type == "contact.created"
    assert await store.event_with_deliveries("evt-404") is None
    clock.t += 100
    await store.append_event(event(2))
    dead = await store.list_deliveries(DeliveryQuery("s1", status="dead"))
    assert [d.id for d in dead.items] == [three.id]
    newest = await store.list_deliveries(DeliveryQuery("s1", limit=2))
    assert len(newest.items) == 2 and newest.items[0].event_id == "evt-2" and newest.next_cursor is not None
    rest = await store.list_deliveries(DeliveryQuery("s1", limit=10, cursor=newest.next_cursor))
    assert {d.id for d in rest.items}.isdisjoint(d.id for d in newest.items)
    assert len(newest.items) + len(rest.items) == 6 and rest.next_cursor is None
    early = await store.list_deliveries(DeliveryQuery("s1", to_ts=clock.t))
    assert [d.event_id for d in early.items] == ["evt-1"] * 3
    pending = await store.list_deliveries(DeliveryQuery("s1", status="pending", from_ts=clock.t))
    assert [d.event_id for d in pending.items] == ["evt-2"] * 3
    assert await store.get_delivery(two.id) == deliveries[1]


async def test_retrying_a_delivery(store: Store, clock: ManualClock) -> None:
    """A dead or delivered delivery is queued again with its attempts reset; pending, cancelled, a gone
    subscription and a missing delivery say why not."""
    await store.create_subscription(subscription("s1", "a", endpoints=2), 10)
    await store.append_event(event(1))
    dead, done = await store.lease("w", 10, 30)
    await store.settle(
        "w", [Settlement(dead.id, "dead", 1, 400, "HTTP 400"), Settlement(done.id, "delivered", 1, 200)]
    )
    clock.t += 7
    again = await store.retry_delivery(dead.id)
    assert (again.status, again.attempts, again.next_attempt_at) == ("pending", 0, clock.t)
    assert (await store.retry_delivery(done.id)).status == "pending"
    with pytest.raises(ConflictError):
        await store.retry_delivery(dead.id)
    leased = await store.lease("w", 10, 30)
    assert sorted(j.id for j in leased) == sorted([dead.id, done.id]) and {j.attempt for j in leased} == {1}
    with pytest.raises(NotFoundError):
        await store.retry_delivery(dead.id + 1000)
    await store.settle("w", [Settlement(j.id, "dead", 1, 400, "x") for j in leased])
    await store.delete_subscription("s1")
    with pytest.raises(ConflictError):
        await store.retry_delivery(dead.id)
    assert len(await store.delivery_attempts(dead.id) or []) == 2  # the recorded attempts stay


def _to(
    targets: dict[str, Sequence[tuple[str, EndpointSpec]]],
) -> Callable[[Event], Sequence[tuple[str, EndpointSpec]]]:
    """A route: by event type, from `targets`."""
    return lambda e: targets.get(e.type, ())


async def _events(store: Store, clock: ManualClock, n: int) -> float:
    start = clock.t
    for i in range(1, n + 1):
        await store.append_event(event(i, type_="contact.created" if i % 2 else "queue.event"))
        clock.t += 1
    return start


async def test_replay_job_queues_each_delivery_once_and_succeeds(store: Store, clock: ManualClock) -> None:
    """Steps walk the range in order; the job succeeds with its counts; repeated targets are queued once."""
    await store.create_subscription(subscription("s1", "a"), 10)
    start = await _events(store, clock, 5)  # evt-1, 3, 5 queued a delivery each when appended
    first_leases = await store.lease("w", 100, 30)
    await store.settle("w", [Settlement(j.id, "delivered", 1, 200) for j in first_leases])
    ep = EndpointSpec("http://127.0.0.1/replayed")
    route = _to({"contact.created": [("s1", ep), ("s1", ep)]})  # the same target twice: queued once
    job = await store.create_replay("r1", ReplaySpec(start, start + 4))  # evt-1..evt-4
    assert (job.state, job.total, job.scanned) == ("queued", 4, 0)
    claimed = await store.claim_replay("w1", 30)
    assert claimed is not None and claimed.id == "r1" and claimed.state == "running"
    assert await store.claim_replay("w2", 30) is None  # held
    step = await store.replay_step("r1", "w1", route, 3, 30)
    assert step is not None and (step.state, step.scanned, step.matched, step.enqueued, step.skipped) == (
        "running",
        3,
        2,
        2,
        2,
    )
    final = await store.replay_step("r1", "w1", route, 3, 30)
    assert final is not None and (final.state, final.scanned, final.matched, final.enqueued) == (
        "succeeded",
        4,
        2,
        2,
    )
    assert final.finished_at == clock.t
    replayed = await store.lease("w", 100, 30)
    assert sorted((j.event.id, j.endpoint.url) for j in replayed) == [
        ("evt-1", ep.url),
        ("evt-3", ep.url),
    ]
    assert await store.replay_step("r1", "w1", route, 3, 30) is None  # finished: nothing more to do
    assert [j.id for j in await store.list_replays()] == ["r1"]


async def test_a_replay_resumed_after_its_lease_expired_continues_without_repeats(
    store: Store, clock: ManualClock
) -> None:
    """The next owner resumes where the last committed step ended; the old owner's steps are refused."""
    await store.create_subscription(subscription("s1", "a"), 10)
    start = await _events(store, clock, 6)
    await store.settle("w", [Settlement(j.id, "delivered", 1, 200) for j in await store.lease("w", 100, 30)])
    ep = EndpointSpec("http://127.0.0.1/again")
    route = _to({"contact.created": [("s1", ep)], "queue.event": [("s1", ep)]})
    await store.create_replay("r1", ReplaySpec(start, clock.t))
    assert await store.claim_replay("w1", 30) is not None
    await store.replay_step("r1", "w1", route, 2, 30)
    clock.t += 31  # w1 died
    resumed = await store.claim_replay("w2", 30)
    assert resumed is not None and (resumed.scanned, resumed.enqueued) == (2, 2)
    assert await store.replay_step("r1", "w1", route, 2, 30) is None
    while (job := await store.replay_step("r1", "w2", route, 2, 30)) is not None and job.state == "running":
        pass
    done = await store.get_replay("r1")
    assert done is not None and (done.state, done.scanned, done.enqueued, done.skipped) == (
        "succeeded",
        6,
        6,
        0,
    )
    replayed = await store.lease("w", 100, 30)
    assert sorted(j.event.id for j in replayed) == [f"evt-{n}" for n in range(1, 7)]


async def test_a_dry_run_counts_and_queues_nothing(store: Store, clock: ManualClock) -> None:
    """A dry run ends with the counts a real run would have, and no delivery."""
    await store.create_subscription(subscription("s1", "a"), 10)
    start = await _events(store, clock, 4)
    await store.settle("w", [Settlement(j.id, "delivered", 1, 200) for j in await store.lease("w", 100, 30)])
    route = _to({"contact.created": [("s1", EndpointSpec("http://127.0.0.1/x"))]})
    await store.create_replay("dry", ReplaySpec(start, clock.t, dry_run=True))
    assert await store.claim_replay("w1", 30) is not None
    job = await store.replay_step("dry", "w1", route, 100, 30)
    assert job is not None and (job.state, job.scanned, job.matched, job.enqueued) == ("succeeded", 4, 2, 2)
    assert job.spec.dry_run and await store.lease("w", 100, 30) == []


async def test_a_failed_replay_says_why_and_is_not_claimed_again(store: Store, clock: ManualClock) -> None:
    """fail_replay ends the job with its error, for its owner only."""
    await store.create_replay("r1", ReplaySpec(0, clock.t, ("s1",), {"data": {"n": [1]}}))
    assert await store.claim_replay("w1", 30) is not None
    await store.fail_replay("r1", "w2", "not mine")
    await store.fail_replay("r1", "w1", "the pattern broke")
    job = await store.get_replay("r1")
    assert job is not None and (job.state, job.error, job.finished_at) == (
        "failed",
        "the pattern broke",
        clock.t,
    )
    assert job.spec.subscription_ids == ("s1",) and job.spec.pattern == {"data": {"n": [1]}}
    clock.t += 100
    assert await store.claim_replay("w3", 30) is None


@pytest.mark.needs(Feature.SHARED)
async def test_attempts_and_jobs_are_seen_by_another_instance(
    make_store: Callable[[], Store], clock: ManualClock
) -> None:
    """A second store on the same place reads the attempts and resumes the replay job the first left."""
    first, second = make_store(), make_store()
    await first.open()
    await second.open()
    try:
        await first.create_subscription(subscription("s1", "a"), 10)
        await first.append_event(event(1))
        [job] = await first.lease("w1", 10, 30)
        await first.settle("w1", [Settlement(job.id, "retry", 1, 500, "HTTP 500", clock.t + 1)])
        [record] = await second.delivery_attempts(job.id) or []
        assert record.status == 500
        await first.create_replay("r1", ReplaySpec(0, clock.t + 1))
        assert await first.claim_replay("w1", 30) is not None
        clock.t += 31
        resumed = await second.claim_replay("w2", 30)
        assert resumed is not None and resumed.id == "r1"
    finally:
        await first.close()
        await second.close()
