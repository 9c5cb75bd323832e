"""One writer thread per SQLite file, committing many callers' work in one transaction.

Why: SQLite allows one writer, and with `synchronous=FULL` every commit costs an fsync. The
writer takes everything queued while the previous commit was syncing and runs it as one
transaction (group commit), so durability costs one fsync per batch rather than per request,
with no artificial delay when the load is light. Each job runs inside its own SAVEPOINT: a job
that raises is rolled back alone and its caller gets the exception; the others still commit.
A caller's future resolves only after COMMIT returned, which is the 2xx promise.

A full disk or an I/O error is the one failure a caller can do something about (wait and try again),
so it is mapped here, at the boundary, to `Unavailable` with a `retry_after`. SQLite may roll the
whole transaction back on such an error; the batch then fails as a whole, since what the jobs before
it wrote is gone too. The writer remembers that writes fail (`write_failure`), logs it once when it
starts and once when a write commits again, not once per caller.

Processes sharing the file (`serve --workers`, the overlap of a rolling restart) take turns at
SQLite's write lock. SQLite's busy handler waits for a taken lock by sleeping in steps of up to
100 ms, however soon the lock frees, so two busy workers would spend much of their time asleep
(hundreds of ms at p99). So every writer also holds a `WriteToken` (an exclusive `flock` on the
file beside the database, `<db>-writer.lock`) from `BEGIN IMMEDIATE` to `COMMIT`: a writer waiting
for it is woken by the kernel the moment the holder lets go. SQLite's lock still guards the file; a
writer without the token (another tool) is waited for by `busy_timeout` as before.

Ending: `stop()` lets the thread run every job queued before it (so the last batch is committed when
it returns) and waits for the thread without blocking the event loop; a job submitted after it is
refused at once with `Unavailable` ("the store is closing"). No caller waits for ever on a thread
that is gone: should the thread end any other way, the batch it was running and every job still
queued are answered with `Unavailable` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from ccbridge.errors import Unavailable

log = structlog.get_logger("ccbridge.store")
T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]

MAX_BATCH = 512
STORAGE_RETRY_AFTER = 5.0  # seconds: a floor for a caller's retry while the disk is full
CLOSING_RETRY_AFTER = 1.0  # seconds: a floor for a caller's retry while the store closes (a restart)
STOP_TIMEOUT = 30.0  # seconds `stop()` waits for the last batch before it gives up waiting
_STORAGE_CODES = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR})


def storage_failure(exc: BaseException) -> str | None:
    """What is wrong with the storage when `exc` says the disk is full or cannot be written (SQLITE_FULL,
    SQLITE_IOERR and its extended codes, ENOSPC), else None."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if (code is not None and code & 0xFF in _STORAGE_CODES) or "disk is full" in str(exc):
            return str(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT):
        return exc.strerror or str(exc)
    return None


def mapped(exc: BaseException) -> BaseException:
    """`exc` as the error tree names it: a storage failure becomes `Unavailable` (caused by `exc`)."""
    reason = storage_failure(exc)
    if reason is None:
        return exc
    error = Unavailable(f"the store cannot write: {reason}", retry_after=STORAGE_RETRY_AFTER)
    error.__cause__ = exc
    return error


class _BatchLost(Exception):
    """A job's failure took the whole transaction with it (SQLite rolled it back): every job fails."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


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


class WriteToken:
    """The exclusive `flock` on `<db>-writer.lock` a writer holds for each transaction (see the
    module's docstring); a no-op for an in-memory database. A process that dies holding it loses it
    with its file descriptors, so a crash never leaves it taken."""

    def __init__(self, db_path: str) -> None:
        in_memory = db_path == ":memory:" or db_path.startswith("file:") or not db_path
        self.path = None if in_memory else db_path + "-writer.lock"
        self._fd: int | None = None

    def open(self) -> None:
        if self.path is not None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if self._fd is None:
            yield
            return
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SerialExecutor:
    """Runs jobs on one dedicated thread with its own connection; `transactional` adds group commit
    (each batch's transaction under the `WriteToken`)."""

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
        # Held while `_closed` is read or set and while an item is queued, so nothing is queued
        # behind the stop sentinel or after the thread drained the queue for the last time.
        self._lock = threading.Lock()
        self._closed: str | None = None  # why submissions are refused, once they are
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.batches = 0
        self.jobs = 0
        self.on_batch: Callable[[int], None] | None = None  # told each batch's size (metrics)
        self._failure: str | None = None
        self._token = WriteToken(path)

    @property
    def write_failure(self) -> str | None:
        """Why the last write batch failed on the storage (disk full, I/O error), or None once a batch
        that changed something has committed since."""
        return self._failure

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    async def submit(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run `job` on the thread (inside the batch's transaction when `transactional`); its result
        once committed. `Unavailable` at once when the executor is stopping or its thread is gone."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:  # never contended for long: the thread takes it only to close
            if self._closed is not None:
                raise Unavailable(self._closed, retry_after=CLOSING_RETRY_AFTER)
            self._queue.put(_Item(job, future, loop))
        return await future

    async def stop(self) -> None:
        """Run what is queued, then end the thread; returns once its last batch has committed (or
        after `STOP_TIMEOUT`, logged). The wait happens on another thread, never on the event loop.
        Later submissions raise `Unavailable`; calling it again waits again."""
        with self._lock:
            if self._closed is None:
                self._closed = "the store is closing"
                self._queue.put(None)
            reason = self._closed
        if not self._thread.is_alive():  # never started, or already ended: nobody will take the queue
            self._close_queue(reason, [])
            return
        await asyncio.to_thread(self._thread.join, STOP_TIMEOUT)
        if self._thread.is_alive():
            log.warning("store thread did not finish its last batch in time", thread=self._thread.name)

    def _run(self) -> None:
        try:
            conn = connect(self._path, readonly=not self._transactional)
            if self._transactional:
                self._token.open()
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._close_queue(f"the store could not open: {type(exc).__name__}", [])
            self._ready.set()
            return
        self._ready.set()
        batch: list[_Item] = []
        reason = "the store is closing"
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = self._drain(batch)
                self._execute(conn, batch)
                batch = []
                if stop:
                    return
        except BaseException as exc:  # the thread ends here; nobody else would hear of it
            reason = f"the store's {self._thread.name} thread stopped"
            log.error(reason, error=str(exc), error_type=type(exc).__name__)
        finally:
            self._close_queue(reason, batch)
            conn.close()
            self._token.close()

    def _close_queue(self, reason: str, unfinished: list[_Item]) -> None:
        """Refuse further submissions, and answer `unfinished` (the batch the thread was running) and
        whatever is still queued with `Unavailable(reason)`. A future already answered is left as it
        is (`_set_results` skips it), so answering twice is harmless."""
        with self._lock:
            if self._closed is None:
                self._closed = reason
            left = list(unfinished)
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    left.append(item)
        if left:
            error = Unavailable(reason, retry_after=CLOSING_RETRY_AFTER)
            _resolve([(item, None, error) for item in left])

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
            changes = conn.total_changes
            with self._token.held():
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    if self._on_begin is not None:  # under the write lock: what it reads cannot change
                        self._on_begin(conn)
                    for item in batch:
                        results.append(self._run_one(conn, item, savepoint=True))
                    conn.execute("COMMIT")
                except Exception as exc:  # the batch failed (SQLite, or a hook): nobody's work is durable
                    cause = exc.cause if isinstance(exc, _BatchLost) else exc
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    results = [(item, None, cause) for item in batch]
                    if self._on_rollback is not None:  # in-memory state mirrored the lost batch
                        try:
                            self._on_rollback(conn)
                        except Exception as reload_error:  # the thread must outlive it; next batch retries
                            log.error("store state reload failed", error=str(reload_error))
            self._note_health(results, wrote=conn.total_changes > changes)
        self.batches += 1
        self.jobs += len(batch)
        if self.on_batch is not None:
            with contextlib.suppress(Exception):  # a metrics hook must never stop the writer thread
                self.on_batch(len(batch))
        _resolve([(item, value, None if error is None else mapped(error)) for item, value, error in results])

    def _note_health(self, results: list[tuple[_Item, Any, BaseException | None]], wrote: bool) -> None:
        """Logs the change, once: writes started failing on the storage, or commit again."""
        failure = next((f for _, _, e in results if e is not None and (f := storage_failure(e))), None)
        if failure is not None:
            if self._failure is None:
                log.error("store writes fail; answering 503 until they commit again", reason=failure)
            self._failure = failure
        elif wrote and self._failure is not None:
            log.warning("store writes commit again", after=self._failure)
            self._failure = None

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
                if not conn.in_transaction:  # SQLite rolled back the batch (e.g. SQLITE_FULL)
                    raise _BatchLost(exc) from exc
                try:
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                except sqlite3.Error:
                    raise _BatchLost(exc) from exc
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
