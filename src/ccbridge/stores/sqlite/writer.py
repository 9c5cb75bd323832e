"""One writer thread per SQLite file, committing many callers' work in one transaction.

Why: SQLite allows one writer, and with `synchronous=FULL` every commit costs an fsync. The
writer takes everything queued while the previous commit was syncing and runs it as one
transaction (group commit), so durability costs one fsync per batch rather than per request,
with no artificial delay when the load is light. Each job runs inside its own SAVEPOINT: a job
that raises is rolled back alone and its caller gets the exception; the others still commit.
A caller's future resolves only after COMMIT returned, which is the 2xx promise.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]

MAX_BATCH = 512


@dataclass(slots=True)
class _Item:
    job: Job
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def connect(path: str, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the durability settings the store's promise depends on."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    if readonly:
        conn.execute("PRAGMA query_only=ON")
    return conn


class SerialExecutor:
    """Runs jobs on one dedicated thread with its own connection; `transactional` adds group commit."""

    def __init__(
        self,
        path: str,
        name: str,
        transactional: bool,
        on_rollback: Callable[[sqlite3.Connection], None] | None = None,
        on_begin: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        self._path = path
        self._on_rollback = on_rollback
        self._on_begin = on_begin
        self._transactional = transactional
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.batches = 0
        self.jobs = 0

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    async def submit(self, job: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Item(job, future, loop))
        return await future

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            conn = connect(self._path, readonly=not self._transactional)
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = self._drain(batch)
                self._execute(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _drain(self, batch: list[_Item]) -> bool:
        while len(batch) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is None:
                return True
            batch.append(item)
        return False

    def _execute(self, conn: sqlite3.Connection, batch: list[_Item]) -> None:
        results: list[tuple[_Item, Any, BaseException | None]] = []
        if not self._transactional:
            for item in batch:
                results.append(self._run_one(conn, item, savepoint=False))
        else:
            try:
                conn.execute("BEGIN IMMEDIATE")
                if self._on_begin is not None:  # under the write lock: what it reads cannot change
                    self._on_begin(conn)
                for item in batch:
                    results.append(self._run_one(conn, item, savepoint=True))
                conn.execute("COMMIT")
            except sqlite3.Error as exc:  # the commit itself failed: nobody's work is durable
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if self._on_rollback is not None:  # in-memory state mirrored the lost batch
                    self._on_rollback(conn)
                results = [(item, None, exc) for item in batch]
        self.batches += 1
        self.jobs += len(batch)
        _resolve(results)

    @staticmethod
    def _run_one(
        conn: sqlite3.Connection, item: _Item, savepoint: bool
    ) -> tuple[_Item, Any, BaseException | None]:
        if savepoint:
            conn.execute("SAVEPOINT job")
        try:
            value = item.job(conn)
        except Exception as exc:
            if savepoint:
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
            return (item, None, exc)
        if savepoint:
            conn.execute("RELEASE job")
        return (item, value, None)


def _resolve(results: list[tuple[_Item, Any, BaseException | None]]) -> None:
    """Hand results back to their loops with one wake-up per loop, not one per job."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Item, Any, BaseException | None]]] = {}
    for entry in results:
        by_loop.setdefault(entry[0].loop, []).append(entry)
    for loop, entries in by_loop.items():
        try:
            loop.call_soon_threadsafe(_set_results, entries)
        except RuntimeError:  # the loop is closed; its callers are gone
            continue


def _set_results(entries: list[tuple[_Item, Any, BaseException | None]]) -> None:
    for item, value, error in entries:
        if item.future.done():
            continue
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(value)
