"""Housekeeping forgets finished replay jobs, on every backend (`Housekeeping.purge_replays`).

A replay job keeps a row, and a mark per delivery it queued, for as long as the store lives unless
housekeeping removes it. Succeeded and failed jobs go once they finished longer ago than the history
window (`store.retention_days`, which the housekeeper passes); queued and running jobs stay however
old they are, since someone still owes them work."""

from __future__ import annotations

import pytest

from ccbridge.core.event import EndpointSpec, Event
from ccbridge.core.ports import ReplaySpec, Store
from ccbridge.stores.housekeeping import Housekeeper
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event as event
from ccbridge.testing.samples import sample_subscription as subscription

ENDPOINT = EndpointSpec("http://127.0.0.1/replayed")


def route(_: Event) -> list[tuple[str, EndpointSpec]]:
    return [("s1", ENDPOINT)]


async def _succeeded(store: Store, job_id: str) -> None:
    await store.create_replay(job_id, ReplaySpec(0, 1e12))
    claimed = await store.claim_replay("owner", 30)
    assert claimed is not None and claimed.id == job_id
    done = await store.replay_step(job_id, "owner", route, 100, 30)
    assert done is not None and done.state == "succeeded"


async def _failed(store: Store, job_id: str) -> None:
    await store.create_replay(job_id, ReplaySpec(0, 1e12))
    claimed = await store.claim_replay("owner", 30)
    assert claimed is not None and claimed.id == job_id
    await store.fail_replay(job_id, "owner", "boom")
    failed = await store.get_replay(job_id)
    assert failed is not None and failed.state == "failed"


async def test_finished_replay_jobs_past_retention_go_and_unfinished_ones_stay(
    store: Store, clock: ManualClock
) -> None:
    await store.create_subscription(subscription("s1", "a"), 10)
    await store.append_event(event(1, type_="nobody.listens"))
    await _succeeded(store, "old-succeeded")
    await _failed(store, "old-failed")
    await store.create_replay("running", ReplaySpec(0, 1e12))
    running = await store.claim_replay("owner", 1e9)
    assert running is not None and running.id == "running"
    clock.advance(3 * 86400)
    await _succeeded(store, "young-succeeded")
    await _failed(store, "young-failed")
    await store.create_replay("queued", ReplaySpec(0, 1e12))

    assert await store.purge_replays(clock.t - 2 * 86400) == 2

    left = {j.id: j.state for j in await store.list_replays()}
    assert left == {
        "running": "running",
        "queued": "queued",
        "young-succeeded": "succeeded",
        "young-failed": "failed",
    }
    assert await store.get_replay("old-succeeded") is None
    assert await store.get_replay("old-failed") is None

    assert await store.purge_replays(clock.t + 1) == 2  # a cutoff after every job: unfinished stay

    assert {j.id: j.state for j in await store.list_replays()} == {"running": "running", "queued": "queued"}
    # what the purged jobs queued are ordinary deliveries and stay
    assert len(await store.lease("w", 10, 30)) == 2


@pytest.mark.parametrize("age_days", [1.5, 2.5])
async def test_the_housekeeper_purges_replay_jobs_after_the_history_window(
    store: Store, clock: ManualClock, age_days: float
) -> None:
    """The housekeeper's cutoff is `store.retention_days` ago: a job finished 2.5 days ago goes with
    a two-day window, one finished 1.5 days ago stays."""
    await store.create_subscription(subscription("s1", "a"), 10)
    await _succeeded(store, "done")
    clock.advance(age_days * 86400)
    keeper = Housekeeper(store, retention_days=2, clock=clock)

    assert (await keeper.run_once())[3] == (1 if age_days > 2 else 0)

    assert (await store.get_replay("done") is None) == (age_days > 2)
