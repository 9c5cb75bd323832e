"""A hash-chained JSON-lines audit log of subscription writes, shared by the server and the CLI.

Each line is one JSON object with exactly these keys, in this order:

    {"time", "actor", "operation", "subscriptionId", "status", "idempotencyKey", "requestId",
     "message", "prev", "hash"}

`message` is null for a write that landed and the one-line reason for a refused one (the `message`
of the API's problem answer: errors never hold secrets). Lines written before `message` existed
(the same keys without it) still verify.

`prev` is the SHA-256 hex of the previous line's bytes (without its newline; 64 zeros for the first
line). `hash` is the SHA-256 hex of the line's own bytes up to `"prev":"..."` closed with `}`,
so an edited line is named itself, even the last one, and `prev` links it to the one before: a removed,
inserted or reordered line breaks the link of the line after the gap. Only these fields are
written, all strings, integers or null, so no secret can reach the file through this API.

Contract for concurrent writers (threads, tasks, several processes on one host): each append takes
an exclusive `fcntl.flock` on the file, re-reads the last line under it, and writes one whole line
with fsync, so the chain stays valid with any number of writers. A torn last line (a writer killed
mid-write) is closed with a newline and chained to as it is; `verify` reports it. `append` runs the
blocking part in a worker thread (`asyncio.to_thread`); `append_sync` is for code without a loop;
`record` is for request handlers that must not wait: it starts the append in the background
(concurrent records may land in either order; each line keeps its own `time`) and `drain` waits for
what was started.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

FIELDS = ("time", "actor", "operation", "subscriptionId", "status", "idempotencyKey", "requestId", "message")
EARLIER_FIELDS = FIELDS[:-1]
"""The keys of lines written before `message` was added."""
GENESIS = "0" * 64
_TAIL = re.compile(rb',"hash":"([0-9a-f]{64})"\}\Z')
_CHUNK = 4096


class Verification(NamedTuple):
    """`ok`, else the 1-based number of the first bad line and why it is bad."""

    ok: bool
    first_bad_line: int | None
    reason: str | None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _last_line(fd: int) -> bytes | None:
    """The file's last line with its newline if it has one; None for an empty file."""
    end = os.lseek(fd, 0, os.SEEK_END)
    pos, buf = end, b""
    while pos > 0:
        step = min(_CHUNK, pos)
        pos -= step
        buf = os.pread(fd, step, pos) + buf
        cut = buf.rfind(b"\n", 0, len(buf) - 1)
        if cut >= 0:
            return buf[cut + 1 :]
    return buf or None


def encode(record: dict[str, Any], prev: str) -> bytes:
    """One line's bytes (without the newline) for `record` chained to `prev`."""
    body = orjson.dumps({**{k: record.get(k) for k in FIELDS}, "prev": prev})
    return body[:-1] + b',"hash":"' + _sha(body).encode() + b'"}'


Value = str | int | None


class AuditLog:
    """Appends to one audit file; holds no open file between appends.

    Values are strings, integers (an HTTP status) or None; anything else is refused, so no object
    can smuggle a secret into the file through its string form.
    """

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._pending: set[asyncio.Task[dict[str, Any]]] = set()

    async def append(
        self,
        *,
        actor: str | None,
        operation: str,
        subscription_id: str | None,
        status: str | int,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Appends one line off the event loop; returns the record as written (with `prev`, `hash`)."""
        values = (actor, operation, subscription_id, status, idempotency_key, request_id, message)
        return await asyncio.to_thread(self._write, values)

    def append_sync(
        self,
        *,
        actor: str | None,
        operation: str,
        subscription_id: str | None,
        status: str | int,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Blocking `append`: waits for the file lock, then writes and fsyncs one line."""
        return self._write((actor, operation, subscription_id, status, idempotency_key, request_id, message))

    def record(
        self,
        *,
        actor: str | None,
        operation: str,
        subscription_id: str | None,
        status: str | int,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        message: str | None = None,
    ) -> None:
        """Fire-and-forget `append` for a request handler; without a running loop it writes at once."""
        values = (actor, operation, subscription_id, status, idempotency_key, request_id, message)
        _check(values)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._write(values)
            return
        task = asyncio.create_task(asyncio.to_thread(self._write, values))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Waits for every `record` started so far (call before shutdown); re-raises a write error."""
        while self._pending:
            await asyncio.gather(*list(self._pending))

    def _write(self, values: tuple[Value, ...]) -> dict[str, Any]:
        _check(values)
        record: dict[str, Any] = {"time": _now(), **dict(zip(FIELDS[1:], values, strict=True))}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_line(fd)
            lead = b"\n" if last is not None and not last.endswith(b"\n") else b""
            prev = GENESIS if last is None else _sha(last.rstrip(b"\n"))
            line = encode(record, prev)
            os.write(fd, lead + line + b"\n")
            if self._fsync:
                os.fsync(fd)
        finally:
            os.close(fd)  # releases the lock
        return orjson.loads(line)  # type: ignore[no-any-return]


def _check(values: tuple[Value, ...]) -> None:
    if any(v is not None and (isinstance(v, bool) or not isinstance(v, str | int)) for v in values):
        raise TypeError("audit fields must be strings, integers or None")


def _check_line(number: int, line: bytes, prev: str) -> str | None:
    """Why line `number` is bad, or None."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return f"line {number} is not JSON"
    if not isinstance(record, dict) or list(record) not in (
        [*FIELDS, "prev", "hash"],
        [*EARLIER_FIELDS, "prev", "hash"],
    ):
        return f"line {number} does not have the audit fields in their order"
    tail = _TAIL.search(line)
    if tail is None or _sha(line[: tail.start()] + b"}") != tail.group(1).decode():
        return f"line {number} was altered: its hash does not match its content"
    if record["prev"] != prev:
        return (
            f"line {number} does not follow line {number - 1}: a line was removed, inserted "
            "or reordered here, or the line before was rewritten"
            if number > 1
            else "line 1 is not the first line of the chain: lines were removed before it"
        )
    return None


def verify(path: str | Path) -> Verification:
    """Checks the whole chain; an empty or missing-but-empty file is valid."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return Verification(False, None, f"cannot read {path}: {exc.strerror}")
    if not data:
        return Verification(True, None, None)
    lines = data.split(b"\n")
    torn = lines.pop() != b""
    prev = GENESIS
    for number, line in enumerate(lines, start=1):
        reason = _check_line(number, line, prev)
        if reason is not None:
            return Verification(False, number, reason)
        prev = _sha(line)
    if torn:
        return Verification(False, len(lines) + 1, f"line {len(lines) + 1} is incomplete (no newline)")
    return Verification(True, None, None)
