"""Polling delivery-status until settled: backoff with jitter, the deadline, and what is reported."""

from __future__ import annotations

from client_fakes import FakeApi, Sleeps

from ccbridge.client import BridgeClient
from ccbridge.client.status import is_settled, wait_settled


class Clock:
    """A clock that advances only when the poller sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = Sleeps()

    async def sleep(self, delay: float) -> None:
        await self.sleeps(delay)
        self.now += delay


def test_settled_means_nothing_pending_or_retrying() -> None:
    """Only pending and retrying count; delivered and dead-lettered deliveries are settled."""
    assert is_settled({"counts": {"delivered": 5, "deadLettered": 2, "pending": 0, "retrying": 0}})
    assert not is_settled({"counts": {"pending": 1}})
    assert not is_settled({"counts": {"retrying": 1}})


async def test_polls_with_growing_jittered_delays_until_settled(client: BridgeClient, fake: FakeApi) -> None:
    """Delays double from 0.2 s (each within [d/2, d]) and polling stops on the first settled status."""
    sub = fake.add({"name": "s"})
    answers = iter([{"pending": 3}, {"pending": 2}, {"retrying": 1}, {"pending": 0, "retrying": 0}])

    async def next_status() -> None:
        fake.statuses[sub["id"]] = {"state": "active", "counts": next(answers)}

    clock = Clock()

    async def sleep(delay: float) -> None:
        await clock.sleep(delay)
        await next_status()

    await next_status()
    (result,) = await wait_settled(client, {"s": sub["id"]}, 60, sleep=sleep, clock=lambda: clock.now)
    assert result.settled and result.error is None
    delays = clock.sleeps.delays
    assert len(delays) == 3
    for delay, base in zip(delays, [0.2, 0.4, 0.8], strict=True):
        assert base / 2 <= delay <= base


async def test_gives_up_at_the_deadline_with_the_last_status(client: BridgeClient, fake: FakeApi) -> None:
    """A subscription still pending at the deadline is reported unsettled with its last counts."""
    sub = fake.add({"name": "s"})
    fake.statuses[sub["id"]] = {"state": "degraded", "counts": {"pending": 4}}
    clock = Clock()
    (result,) = await wait_settled(client, {"s": sub["id"]}, 3, sleep=clock.sleep, clock=lambda: clock.now)
    assert not result.settled and result.status is not None and result.status["counts"]["pending"] == 4
    assert result.error == "not settled before the timeout"
    assert sum(clock.sleeps.delays) <= 3.0 + 1e-9


async def test_an_unknown_subscription_is_reported_not_raised(client: BridgeClient) -> None:
    """A 404 for one subscription ends its polling with the error; the call itself does not fail."""
    (result,) = await wait_settled(client, {"gone": "no-such-id"}, 1)
    assert not result.settled and result.error is not None and "404" in result.error
