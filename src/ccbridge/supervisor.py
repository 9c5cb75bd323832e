"""Several serving processes on one port (`serve --workers N`): a parent that holds the listening
socket, forks N workers that serve it, restarts one that dies, and stops them all on SIGTERM/SIGINT.

Why one socket bound in the parent and inherited, rather than an SO_REUSEPORT socket per worker:

* Connections queue on the one socket, not on the worker the kernel hashed them to: when a worker
  is killed, what waited in its backlog is taken by the others instead of being reset, and while it
  restarts nobody gets "connection refused".
* The port is bound once, before any worker starts: "address in use" is one clear error of the
  parent, port 0 means one port, and no other process of the same user can join the group.
* The price: connections spread less evenly than SO_REUSEPORT's hash spreads them (whichever worker
  is waiting in `accept` takes the next one, and a kept-alive connection stays where it was
  accepted). On SQLite, where the workers share one write lock, that did not cost throughput.

Contracts:

* The supervisor knows nothing of HTTP: `target(index, ready)` runs in the forked worker, calls
  `ready()` once it serves and returns the worker's exit code. Worker indexes are 0..N-1; a
  restarted worker keeps its index and gets a new pid.
* Worker 0 starts alone; the others start once it serves, so a fresh store is created by one process.
* A worker that dies after it served is restarted at once. One that dies before it served is started
  again after a delay that doubles from `backoff[0]` to `backoff[1]` seconds, so a worker that cannot
  start does not spin. If no worker has served yet when one fails to start, the supervisor stops and
  returns that worker's exit code: a setup the workers refuse is not retried forever.
* SIGTERM or SIGINT: the parent closes its copy of the socket, sends SIGTERM to every worker (each
  drains as a single server does; one still starting just ends) and returns 0 when all exited 0,
  else 1. A worker still running `stop_timeout` seconds later is killed (SIGKILL).
* A worker whose parent dies (even by SIGKILL) gets SIGTERM from the kernel (Linux
  `PR_SET_PDEATHSIG`) and drains: no orphan keeps serving the port unsupervised.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

import structlog

log = structlog.get_logger("ccbridge.supervisor")

Target = Callable[[int, Callable[[], None]], int]
"""`target(index, ready) -> exit code`, run in a forked worker."""

_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)


@dataclass
class _Worker:
    index: int
    pid: int
    ready: bool = False


@dataclass
class Supervisor:
    workers: int
    sock: socket.socket
    target: Target
    stop_timeout: float
    backoff: tuple[float, float] = (0.5, 30.0)
    _running: dict[int, _Worker] = field(default_factory=dict)  # pid -> worker
    _restart_at: dict[int, float] = field(default_factory=dict)  # index -> monotonic time
    _failures: dict[int, int] = field(default_factory=dict)  # index -> startups failed in a row
    _served: bool = False
    _stopping: bool = False
    _codes: list[int] = field(default_factory=list)  # exit codes of the workers stopped at the end

    def run(self) -> int:
        ready_r, ready_w = os.pipe()
        wake_r, wake_w = os.pipe()
        for fd in (ready_r, wake_r, wake_w):
            os.set_blocking(fd, False)
        self._fds = (ready_r, ready_w, wake_r, wake_w)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _SIGNALS}
        old_wakeup = signal.set_wakeup_fd(wake_w)
        try:
            return self._supervise()
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for fd in self._fds:
                os.close(fd)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum != signal.SIGCHLD:
            self._stopping = True

    def _supervise(self) -> int:
        self._spawn(0)
        while not self._stopping:
            failed = self._reap()
            if failed is not None and not self._served:
                log.error("worker failed to start; stopping", exit_code=failed)
                self._stop()
                return failed or 1
            self._read_ready()
            now = time.monotonic()
            for index, due in sorted(self._restart_at.items()):
                if due <= now:
                    del self._restart_at[index]
                    self._spawn(index)
            self._wait(min([1.0, *(due - now for due in self._restart_at.values())]))
        return self._stop()

    def _spawn(self, index: int) -> None:
        """Fork a worker; signals stay blocked across the fork so none lands in the wrong handler."""
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            self._in_worker(index, parent)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        self._running[pid] = _Worker(index, pid)

    def _in_worker(self, index: int, parent: int) -> NoReturn:
        code = 1
        try:
            _terminate_with_parent(parent)
            signal.set_wakeup_fd(-1)
            for sig in _SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
            ready_r, ready_w, wake_r, wake_w = self._fds
            for fd in (ready_r, wake_r, wake_w):
                os.close(fd)
            line = f"{os.getpid()}\n".encode()

            def ready() -> None:
                os.write(ready_w, line)

            code = self.target(index, ready)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _read_ready(self) -> None:
        try:
            data = os.read(self._fds[0], 4096)
        except BlockingIOError:
            return
        for pid in (int(word) for word in data.split()):
            worker = self._running.get(pid)
            if worker is None:
                continue
            worker.ready = True
            self._failures[worker.index] = 0
            if not self._served:
                self._served = True
                for index in range(1, self.workers):
                    self._spawn(index)

    def _reap(self) -> int | None:
        """Collect exited workers and schedule their restarts; the exit code of one that died before it
        served, if any."""
        failed = None
        while self._running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            worker = self._running.pop(pid, None)
            if worker is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if self._stopping:
                # SIGTERM before it served (still starting, no handler yet) is a clean stop too
                self._codes.append(0 if code == -signal.SIGTERM and not worker.ready else code)
                continue
            if worker.ready:
                log.warning("worker died; restarting", worker=worker.index, pid=pid, exit_code=code)
                self._restart_at[worker.index] = time.monotonic()
            else:
                failures = self._failures.get(worker.index, 0) + 1
                self._failures[worker.index] = failures
                delay = min(self.backoff[1], self.backoff[0] * 2 ** (failures - 1))
                log.warning(
                    "worker failed to start; retrying", worker=worker.index, exit_code=code, delay=delay
                )
                self._restart_at[worker.index] = time.monotonic() + delay
                failed = code
        return failed

    def _wait(self, timeout: float) -> None:
        """Sleep until a worker reports ready, a signal arrives (SIGCHLD included) or `timeout`."""
        ready_r, _, wake_r, _ = self._fds
        with contextlib.suppress(InterruptedError):
            select.select([ready_r, wake_r], [], [], max(0.0, timeout))
        with contextlib.suppress(BlockingIOError):
            os.read(wake_r, 4096)

    def _stop(self) -> int:
        self._stopping = True
        self.sock.close()
        for pid in self._running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        killed = False
        while self._running:
            self._reap()
            if not self._running:
                break
            if not killed and time.monotonic() > deadline:
                log.error("workers did not stop in time; killing them", pids=sorted(self._running))
                for pid in self._running:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                killed = True
            self._wait(0.5)
        return 0 if all(code == 0 for code in self._codes) and not killed else 1


def _terminate_with_parent(parent: int) -> None:
    """Ask the kernel for SIGTERM when the parent dies; if it died already (before the request took
    effect), send it now. Does nothing where `prctl` is missing (not Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


_PR_SET_PDEATHSIG = 1
