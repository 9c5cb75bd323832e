"""`ccbridge publish`: one custom event (--type, --data) or a JSON-lines file of them, validated
against the configured JSON Schemas, with deterministic idempotency keys. Exit codes as in
`cli.common`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from ccbridge.cli.common import ConfigOption, JsonOption, emit_json, err, fail, load, out, run, settings_of
from ccbridge.client import manage, render
from ccbridge.client.api import BridgeClient
from ccbridge.client.batch import BatchResult, publish_lines, write_rejected
from ccbridge.client.config import PublishConfig
from ccbridge.client.publish import PublishResult
from ccbridge.client.publish import publish as publish_event
from ccbridge.errors import ConfigError


def _data_argument(text: str) -> Any:
    """`--data` as JSON, or `@file` holding JSON; a bad value exits 2 naming the option."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"--data: cannot read {text[1:]}: {exc.strerror}")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        fail(f"--data: not JSON: {exc}")


def publish(
    *,
    config: ConfigOption,
    type_: Annotated[str | None, typer.Option("--type", help="event type (with --data)")] = None,
    data: Annotated[str | None, typer.Option("--data", help="event data: JSON, or @file")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help='JSON lines, each {"type": ..., "data": {...}}')
    ] = None,
    rejected_file: Annotated[
        Path | None, typer.Option("--rejected-file", help="where rejected lines go (default FILE.rejected)")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256)] = 8,
    correlation_id: Annotated[str | None, typer.Option("--correlation-id")] = None,
    json: JsonOption = False,
) -> None:
    """Validate and publish one custom event (--type, --data) or many (--file events.jsonl).

    Each line of --file: {"type": TYPE, "data": {...}}, optionally with "correlationId".

    Rejected lines go to --rejected-file, in the same form, with their errors.

    Exit 0: every event landed or was a duplicate; 1: a line was rejected or the server failed; 2: bad input.
    """
    one = type_ is not None or data is not None
    if (file is not None and one) or (file is None and (type_ is None or data is None)):
        fail("give either --type with --data, or --file")
    cfg = load(config)
    try:
        settings = manage.publish_settings(cfg)
    except ConfigError as exc:
        fail(str(exc))
    if file is not None:
        batch = _publish_file(
            cfg, settings, file, concurrency=concurrency, correlation_id=correlation_id, quiet=json
        )
        raise typer.Exit(_report_batch(batch, file, rejected_file, json))
    assert type_ is not None and data is not None
    payload = _data_argument(data)

    async def main(client: BridgeClient) -> PublishResult:
        return await publish_event(client, type_, payload, config=settings, correlation_id=correlation_id)

    result = run(main, settings_of(cfg))
    if json:
        emit_json(render.publish_json(result))
    else:
        render.publish_text(out, result)


def _publish_file(
    cfg: Any,
    settings: PublishConfig,
    file: Path,
    *,
    concurrency: int,
    correlation_id: str | None,
    quiet: bool,
) -> BatchResult:
    try:
        total = sum(1 for line in file.open("rb") if line.strip())
    except OSError as exc:
        fail(f"--file: cannot read {file}: {exc.strerror}")
    progress = render.progress_bar(err, disable=quiet)
    task = progress.add_task("publish", total=total)

    async def main(client: BridgeClient) -> BatchResult:
        with file.open(encoding="utf-8") as lines, progress:
            return await publish_lines(
                client,
                lines,
                config=settings,
                concurrency=concurrency,
                correlation_id=correlation_id,
                on_done=lambda: progress.advance(task),
            )

    return run(main, settings_of(cfg))


def _report_batch(batch: BatchResult, file: Path, rejected_file: Path | None, json: bool) -> int:
    """Writes the rejected lines (replacing an older file) and prints the counts; the exit code."""
    target = rejected_file or file.with_name(file.name + ".rejected")
    if batch.rejected:
        write_rejected(batch.rejected, target)
    counts = {"published": batch.published, "duplicates": batch.duplicates, "rejected": len(batch.rejected)}
    if json:
        emit_json({**counts, "rejectedFile": str(target) if batch.rejected else None})
    else:
        render.batch_text(out, err, counts, batch.rejected, target)
    return 1 if batch.rejected else 0
