"""Publishing many events from JSON lines, concurrently, accounting for every line.

Input: one JSON object per line, `{"type": TYPE, "data": {...}}`, optionally `"correlationId"`;
other keys are ignored, so a rejected-lines file (which adds `line` and `errors`) can be fed back
in once fixed. Blank lines are skipped. Every other line ends as exactly one of published,
duplicate (the server had its idempotency key) or rejected (with its errors: not JSON, schema
violations, an unknown type, or an API error left after the retries). Nothing is dropped silently.

Lines are read lazily and published by `concurrency` workers, so memory stays flat for any file
size; results are not in input order, rejected lines are reported sorted by line number.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ccbridge.client.api import BridgeClient
from ccbridge.client.config import PublishConfig
from ccbridge.client.publish import PublishResult, publish
from ccbridge.errors import BridgeError, ConfigError, FieldError, InputError


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that was not published: its 1-based number, why, and the event (or raw text) as read."""

    line: int
    errors: tuple[FieldError, ...]
    event: dict[str, Any] | None = None
    raw: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The rejected-file record: the event as given (or the raw text), the line and why."""
        base: dict[str, Any] = dict(self.event) if self.event is not None else {"raw": self.raw}
        return {**base, "line": self.line, "errors": [e.as_dict() for e in self.errors]}


@dataclass(slots=True)
class BatchResult:
    """How every non-blank line ended: published, duplicate or rejected (`total` adds them up)."""

    published: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    results: list[PublishResult] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.published + self.duplicates + len(self.rejected)


def parse_line(number: int, text: str) -> tuple[str, Any, str | None] | Rejected:
    """`(type, data, correlationId)` of one line, or why it cannot be published."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Rejected(number, (FieldError("", f"not JSON: {exc}"),), raw=text)
    if not isinstance(doc, dict):
        return Rejected(number, (FieldError("", "must be a JSON object with type and data"),), raw=text)
    errors = []
    if not isinstance(doc.get("type"), str) or not doc["type"]:
        errors.append(FieldError("type", "required: a non-empty string"))
    if "data" not in doc:
        errors.append(FieldError("data", "required"))
    cid = doc.get("correlationId")
    if cid is not None and not isinstance(cid, str):
        errors.append(FieldError("correlationId", "must be a string"))
    event = {k: doc[k] for k in ("type", "data", "correlationId") if k in doc}
    if errors:
        return Rejected(number, tuple(errors), event)
    return doc["type"], doc["data"], cid


def _reasons(exc: BridgeError) -> tuple[FieldError, ...]:
    if isinstance(exc, InputError):
        return tuple(exc.errors)
    if isinstance(exc, ConfigError):
        return (FieldError("type", exc.message),)
    return (FieldError("", str(exc)),)


async def publish_lines(
    client: BridgeClient,
    lines: Iterable[str],
    *,
    config: PublishConfig,
    concurrency: int = 8,
    correlation_id: str | None = None,
    on_done: Callable[[], None] | None = None,
) -> BatchResult:
    """Publishes every line; `on_done` is called once per non-blank line (for a progress bar)."""
    result = BatchResult()
    queue: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue(maxsize=concurrency * 2)

    async def one(number: int, text: str) -> None:
        parsed = parse_line(number, text)
        if isinstance(parsed, Rejected):
            result.rejected.append(parsed)
            return
        event_type, data, cid = parsed
        try:
            done = await publish(
                client, event_type, data, config=config, correlation_id=cid or correlation_id
            )
        except BridgeError as exc:
            event = {"type": event_type, "data": data, **({"correlationId": cid} if cid else {})}
            result.rejected.append(Rejected(number, _reasons(exc), event))
            return
        result.results.append(done)
        if done.duplicate:
            result.duplicates += 1
        else:
            result.published += 1

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            try:
                await one(*item)
            finally:
                if on_done is not None:
                    on_done()

    async def produce() -> None:
        for number, text in enumerate(lines, start=1):
            if text.strip():
                await queue.put((number, text.rstrip("\r\n")))
        for _ in range(workers):
            await queue.put(None)

    workers = max(1, concurrency)
    tasks = [asyncio.create_task(produce())] + [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    result.rejected.sort(key=lambda r: r.line)
    return result


def write_rejected(rejected: Sequence[Rejected], path: str | Path) -> None:
    """One JSON line per rejected input line, replacing `path`; fit to be fixed and fed back in."""
    with Path(path).open("wb") as sink:
        for item in rejected:
            sink.write(orjson.dumps(item.as_dict()) + b"\n")
