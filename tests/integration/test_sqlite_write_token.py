"""The SQLite writer holds its `WriteToken` (the `flock` beside the database) exactly while a write
transaction is open, so the writers of several processes queue on the kernel's lock rather than
sleeping in SQLite's busy handler."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccbridge.stores.sqlite.writer import SerialExecutor, WriteToken


def token_taken(path: str) -> bool:
    """Whether another open file description holds the lock (a non-blocking attempt fails)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[SerialExecutor]:
    executor = SerialExecutor(str(tmp_path / "t.db"), "test-writer", transactional=True)
    executor.start()
    yield executor
    await executor.stop()


async def test_the_token_is_held_during_a_write_and_free_after(
    writer: SerialExecutor, tmp_path: Path
) -> None:
    lock = str(tmp_path / "t.db") + "-writer.lock"

    def job(conn: sqlite3.Connection) -> bool:
        conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
        return token_taken(lock)

    assert await writer.submit(job) is True
    assert token_taken(lock) is False


async def test_a_failed_batch_releases_the_token(writer: SerialExecutor, tmp_path: Path) -> None:
    lock = str(tmp_path / "t.db") + "-writer.lock"

    def failing(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("boom")

    with pytest.raises(sqlite3.OperationalError):
        await writer.submit(failing)
    assert token_taken(lock) is False


async def test_a_write_waits_for_the_token_then_commits(writer: SerialExecutor, tmp_path: Path) -> None:
    """Another process's writer holds the token: this one's job runs only once it is released."""
    lock = str(tmp_path / "t.db") + "-writer.lock"
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    released = threading.Event()

    def job(conn: sqlite3.Connection) -> bool:
        return released.is_set()

    try:
        task = asyncio.ensure_future(writer.submit(job))
        await asyncio.sleep(0)  # the job is queued; the writer now waits on the token
    finally:
        released.set()
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert await task is True  # it ran after the release, never while the token was held elsewhere


def test_no_token_file_for_an_in_memory_database() -> None:
    assert WriteToken(":memory:").path is None
    assert WriteToken("file:x?mode=memory").path is None
