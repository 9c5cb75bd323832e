"""`ccbridge replay --from T --to T [--subscription S]... [--pattern P] [--dry-run] --config FILE`.

Starts a replay job on the server (`POST /api/v2/eventbridge/replays`) and follows it: a rich progress
bar polls the job until it ends, then the final counts are printed (`--json`: the final job). Exit 0
when the job succeeded, 1 when it failed (its error is printed), 2 for bad options. `--no-wait`
prints the job as started and leaves it running on the server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ccbridge.cli.common import ConfigOption, JsonOption, emit_json, err, fail, load, run, settings_of
from ccbridge.cli.history import check_time
from ccbridge.client.api import BridgeClient

out = Console(soft_wrap=True)
POLL_SECONDS = 0.5
FINAL = ("succeeded", "failed")


def _pattern(argument: str | None) -> dict[str, Any] | None:
    """`--pattern`: JSON text, or `@file`; exits 2 when it is not a JSON object."""
    if argument is None:
        return None
    text = argument
    if argument.startswith("@"):
        try:
            text = Path(argument[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"--pattern: cannot read {argument[1:]!r}: {exc.strerror}")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        fail(f"--pattern: invalid JSON: {exc}")
    if not isinstance(value, dict):
        fail("--pattern: must be a JSON object (an event pattern)")
    return value


async def follow(client: BridgeClient, job: dict[str, Any], show: bool) -> dict[str, Any]:
    """Poll `job` until it ends, drawing its progress when `show`."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
        transient=False,
    ) as bar:
        task = bar.add_task("replay", total=max(job["progress"]["total"], 1), counts="")
        while True:
            progress, counts = job["progress"], job["counts"]
            bar.update(
                task,
                completed=progress["scanned"] if job["state"] != "succeeded" else max(progress["total"], 1),
                counts=f"queued {counts['enqueued']}",
                description=f"replay {job['state']}",
            )
            if job["state"] in FINAL:
                return job
            await asyncio.sleep(POLL_SECONDS)
            job = await client.get_replay(job["id"])


def replay(
    config: ConfigOption,
    from_: Annotated[str, typer.Option("--from", help="RFC 3339, inclusive (when the store received it)")],
    to: Annotated[str, typer.Option("--to", help="RFC 3339, exclusive")],
    subscription: Annotated[
        list[str] | None,
        typer.Option("--subscription", help="a subscription id (repeatable); none: all that match"),
    ] = None,
    pattern: Annotated[
        str | None, typer.Option(help="an event pattern narrowing the events (JSON or @file)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count only: queue nothing")] = False,
    wait: Annotated[bool, typer.Option(help="follow the job until it ends")] = True,
    json: JsonOption = False,
) -> None:
    """Re-deliver stored events of a time range, as a job on the server, with its progress."""
    request: dict[str, Any] = {
        "from": check_time(from_, "--from"),
        "to": check_time(to, "--to"),
        "dryRun": dry_run,
    }
    if subscription:
        request["subscriptionIds"] = list(subscription)
    if (narrow := _pattern(pattern)) is not None:
        request["pattern"] = narrow

    async def main(client: BridgeClient) -> dict[str, Any]:
        job = await client.start_replay(request)
        return await follow(client, job, show=not json and err.is_terminal) if wait else job

    job = run(main, settings_of(load(config)))
    if json:
        emit_json(job)
    else:
        counts, what = job["counts"], "would queue" if dry_run else "queued"
        out.print(
            f"replay {job['id']} {job['state']}: {job['progress']['scanned']} events scanned,"
            f" {counts['matched']} matched, {what} {counts['enqueued']} deliveries"
            + (f" ({counts['skipped']} already queued)" if counts["skipped"] else ""),
            highlight=False,
        )
        if job.get("error"):
            err.print(f"error: {job['error']}", highlight=False, markup=False)
    if job["state"] == "failed":
        raise typer.Exit(1)
