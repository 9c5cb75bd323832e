"""The replayer against the real SQLite file: a job it cannot run ends failed with the reason, visibly,
and is not claimed again; the next job still runs."""

from __future__ import annotations

from pathlib import Path

from ccbridge.core.ports import ReplaySpec
from ccbridge.core.routing import SubscriptionRouter
from ccbridge.delivery.replayer import Replayer
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event, sample_subscription
from ccbridge.testing.server import wait_until


async def test_a_job_that_cannot_run_fails_with_its_reason_and_the_next_runs(tmp_path: Path) -> None:
    """A stored job whose pattern does not compile fails with the error; a good job after it succeeds."""
    clock = ManualClock()
    store = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=clock)
    await store.open()
    replayer = Replayer(store, poll_seconds=0.05)
    try:
        await store.create_subscription(sample_subscription("s1", "a"), 10)
        await store.append_event(sample_event(1))
        await store.create_replay("bad", ReplaySpec(0, clock.t + 1, (), {"data": "not a list"}))
        clock.t += 1
        await store.create_replay("good", ReplaySpec(0, clock.t))
        replayer.start()

        async def both_ended() -> bool:
            jobs = [await store.get_replay(j) for j in ("bad", "good")]
            return all(j is not None and j.state in ("succeeded", "failed") for j in jobs)

        assert await wait_until(both_ended, timeout=10)
    finally:
        await replayer.stop()
    bad, good = await store.get_replay("bad"), await store.get_replay("good")
    await store.close()
    assert bad is not None and bad.state == "failed" and bad.error is not None
    assert bad.error.startswith("PatternError") and bad.finished_at == clock.t
    assert good is not None and (good.state, good.enqueued) == ("succeeded", 1)
