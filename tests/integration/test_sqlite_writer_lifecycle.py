"""How the SQLite writer and reader threads end: `stop()` commits what was queued before it and then
refuses new work with `Unavailable`, no caller waits for ever on a thread that is gone, and
`SqliteStore.close()` waits for the last batch without blocking the event loop.

Every wait that would hang if the behaviour broke is bounded (`asyncio.wait_for`), so a regression
fails the test instead of hanging the suite."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ccbridge.core.routing import SubscriptionRouter
from ccbridge.errors import Unavailable
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.stores.sqlite.writer import SerialExecutor
from ccbridge.testing.clock import ManualClock
from ccbridge.testing.samples import sample_event as event

BOUND = 10.0  # seconds: far beyond what any step here takes, short enough to fail rather than hang


def _insert(value: int) -> Callable[[sqlite3.Connection], int]:
    def job(conn: sqlite3.Connection) -> int:
        conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (?)", (value,))
        return value

    return job


def _rows(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")]


class Gate:
    """A job that holds the writer thread until `open()`: a slow batch, on demand."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._release = threading.Event()

    def job(self, conn: sqlite3.Connection) -> str:
        self.entered.set()
        self._release.wait(BOUND * 3)  # bounded, so a failing test never leaves the thread stuck
        _insert(0)(conn)
        return "slow"

    async def running(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, BOUND)

    def open(self) -> None:
        self._release.set()


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[SerialExecutor]:
    executor = SerialExecutor(str(tmp_path / "t.db"), "test-writer", transactional=True)
    executor.start()
    yield executor
    await executor.stop()


async def test_a_submission_after_stop_is_unavailable_not_a_hang(writer: SerialExecutor) -> None:
    await writer.stop()
    with pytest.raises(Unavailable, match="closing") as caught:
        await asyncio.wait_for(writer.submit(_insert(1)), BOUND)
    assert caught.value.retry_after > 0


async def test_stop_twice_is_one_stop(writer: SerialExecutor) -> None:
    await writer.stop()
    await asyncio.wait_for(writer.stop(), BOUND)
    with pytest.raises(Unavailable):
        await asyncio.wait_for(writer.submit(_insert(1)), BOUND)


async def test_jobs_queued_before_stop_commit_and_answer_before_stop_returns(
    writer: SerialExecutor, tmp_path: Path
) -> None:
    """Jobs waiting behind a slow batch when stop is called are run, committed and answered; stop
    returns only after that."""
    gate = Gate()
    slow = asyncio.ensure_future(writer.submit(gate.job))
    await gate.running()
    queued = [asyncio.ensure_future(writer.submit(_insert(n))) for n in range(1, 6)]
    await asyncio.sleep(0)  # let each submission reach the queue
    stopping = asyncio.ensure_future(writer.stop())
    gate.open()
    await asyncio.wait_for(stopping, BOUND)
    assert all(f.done() for f in queued)
    assert [await f for f in queued] == [1, 2, 3, 4, 5]
    assert await slow == "slow"
    assert _rows(tmp_path / "t.db") == [0, 1, 2, 3, 4, 5]


def _failing_begin(on_call: int, error: BaseException) -> Callable[[sqlite3.Connection], None]:
    """An `on_begin` hook that raises `error` at its `on_call`-th batch, and only then."""
    calls = 0

    def on_begin(conn: sqlite3.Connection) -> None:
        nonlocal calls
        calls += 1
        if calls == on_call:
            raise error

    return on_begin


async def test_an_error_in_the_batch_hook_fails_that_batch_and_the_writer_goes_on(tmp_path: Path) -> None:
    """A hook that raises something other than a SQLite error (a corrupt subscription document, say)
    fails the batch it began, nothing of it committed, and the next batch commits as usual."""
    executor = SerialExecutor(
        str(tmp_path / "t.db"),
        "test-writer",
        transactional=True,
        on_begin=_failing_begin(1, ValueError("not a subscription")),
    )
    executor.start()
    try:
        with pytest.raises(ValueError, match="not a subscription"):
            await asyncio.wait_for(executor.submit(_insert(1)), BOUND)
        assert await asyncio.wait_for(executor.submit(_insert(2)), BOUND) == 2
    finally:
        await executor.stop()
    assert _rows(tmp_path / "t.db") == [2]


async def test_when_the_writer_thread_ends_its_batch_and_queue_fail_rather_than_hang(tmp_path: Path) -> None:
    """A thread that ends unexpectedly (here: SystemExit raised inside a batch) answers the batch it
    was running and every job still queued with `Unavailable`, and refuses new ones."""
    gate = Gate()
    on_begin = _failing_begin(2, SystemExit())

    executor = SerialExecutor(str(tmp_path / "t.db"), "test-writer", transactional=True, on_begin=on_begin)
    executor.start()
    try:
        slow = asyncio.ensure_future(executor.submit(gate.job))
        await gate.running()
        queued = [asyncio.ensure_future(executor.submit(_insert(n))) for n in range(1, 4)]
        await asyncio.sleep(0)
        gate.open()  # the next batch (the queued jobs) is the one whose hook ends the thread
        assert await asyncio.wait_for(slow, BOUND) == "slow"
        for future in queued:
            with pytest.raises(Unavailable):
                await asyncio.wait_for(future, BOUND)
        with pytest.raises(Unavailable):
            await asyncio.wait_for(executor.submit(_insert(9)), BOUND)
    finally:
        await executor.stop()
    assert _rows(tmp_path / "t.db") == [0]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "store.db"), SubscriptionRouter(), clock=ManualClock())
    await s.open()
    yield s
    await s.close()


async def test_a_store_call_after_close_is_unavailable_not_a_hang(store: SqliteStore) -> None:
    """Writes (the writer thread) and reads (the reader thread) both answer `Unavailable` once closed."""
    await store.append_event(event(1))
    await store.close()
    with pytest.raises(Unavailable, match="closing"):
        await asyncio.wait_for(store.append_event(event(2)), BOUND)
    with pytest.raises(Unavailable, match="closing"):
        await asyncio.wait_for(store.get_event("evt-1"), BOUND)


async def test_close_waits_for_the_last_batch_without_blocking_the_loop(
    store: SqliteStore, tmp_path: Path
) -> None:
    """While close waits on a slow last batch, another task on the loop runs; close returns only once
    that batch committed."""
    gate = Gate()
    slow = asyncio.ensure_future(store._writer.submit(gate.job))
    await gate.running()
    closing = asyncio.ensure_future(store.close())
    ran = asyncio.Event()

    async def other_task() -> None:
        ran.set()

    other = asyncio.ensure_future(other_task())
    await asyncio.wait_for(ran.wait(), BOUND)
    await other
    assert not closing.done()  # still waiting for the batch, which is still held
    gate.open()
    await asyncio.wait_for(closing, BOUND)
    assert slow.done() and await slow == "slow"
    assert _rows(tmp_path / "store.db") == [0]
