"""The client side's commands; `ccbridge.cli` mounts them: `subscriptions`, `publish`, `audit`.

Exit codes: 0 done (plan: no changes), 1 the server or the network failed (or an apply action, or a
batch line, did not land), 2 invalid input, config or usage (the message names the key), 3 plan has
changes (like `terraform plan -detailed-exitcode`). Human output goes to stdout, `--json` prints one
JSON document instead; errors go to stderr. Nothing prints a secret.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console

from ccbridge.client import manage, render
from ccbridge.client.api import BridgeClient
from ccbridge.client.apply import ApplyReport
from ccbridge.client.batch import BatchResult, publish_lines, write_rejected
from ccbridge.client.config import ApiConfig, PublishConfig, client_settings
from ccbridge.client.errors import ApiError
from ccbridge.client.plan import Plan
from ccbridge.client.publish import PublishResult
from ccbridge.client.publish import publish as publish_event
from ccbridge.client.status import SubscriptionStatus, wait_settled
from ccbridge.errors import ConfigError, InputError

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="YAML config file")]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON document")]

subscriptions_app = typer.Typer(
    no_args_is_help=True, help="Declarative subscriptions: plan, apply, list, status."
)
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")

T = TypeVar("T")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def make_client(settings: ApiConfig) -> BridgeClient:
    """The client every command uses (tests replace it to talk to a fake server)."""
    return BridgeClient(settings)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"error: {message}", highlight=False, markup=False)
    raise typer.Exit(code)


def emit_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def load(path: Path) -> Any:
    """The config (`ccbridge.config.Config`); a bad file exits 2 naming the key."""
    from ccbridge.config import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))


def settings_of(config: Any) -> ApiConfig:
    try:
        return client_settings(config)
    except ConfigError as exc:
        fail(str(exc))


def run(main: Callable[[BridgeClient], Awaitable[T]], settings: ApiConfig) -> T:
    """Runs `main` with a client; input errors exit 2, API and network errors exit 1."""

    async def with_client() -> T:
        async with make_client(settings) as client:
            return await main(client)

    try:
        return asyncio.run(with_client())
    except InputError as exc:
        render.field_errors(err, exc.errors)
        fail(exc.title)
    except ConfigError as exc:
        fail(str(exc))
    except ApiError as exc:
        fail(str(exc), 1)


# --- subscriptions --------------------------------------------------------------------------------


def _plan(config: Any) -> tuple[Any, ApiConfig]:
    """Validates before anything else: invalid subscriptions exit 2 without a request."""
    try:
        manage.desired_subscriptions(config)
    except InputError as exc:
        render.field_errors(err, exc.errors)
        fail(exc.title)
    return config, settings_of(config)


@subscriptions_app.command("plan")
def plan(config: ConfigOption, json: JsonOption = False) -> None:
    """Show what apply would change. Exit 0: nothing; 3: changes; 2: invalid input; 1: server failed."""
    cfg, settings = _plan(load(config))
    result = run(lambda client: manage.plan_subscriptions(client, cfg), settings)
    if json:
        emit_json(result.as_dict())
    else:
        render.plan_text(out, result)
    raise typer.Exit(3 if result.has_changes else 0)


async def _confirm(plan: Plan, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        fail("refusing to apply without --yes: standard input is not a terminal")
    return await asyncio.to_thread(typer.confirm, "Apply these changes?", default=False)


@subscriptions_app.command("apply")
def apply(
    config: ConfigOption,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    json: JsonOption = False,
) -> None:
    """Make the server hold the config's subscriptions (asks first unless --yes).

    Exit 0: applied (or nothing to do); 1: an action or the server failed; 2: invalid input or refused.
    """
    cfg, settings = _plan(load(config))

    async def main(client: BridgeClient) -> manage.Applied | None:
        planned = await manage.plan_subscriptions(client, cfg)
        if not planned.has_changes:
            return None
        if not json:
            render.plan_text(out, planned)
        if not await _confirm(planned, yes):
            fail("cancelled", 1)
        return await manage.apply_subscriptions(client, cfg, planned)

    applied = run(main, settings)
    if applied is None:
        emit_json(render.apply_json(ApplyReport(), [])) if json else out.print("No changes.")
        raise typer.Exit(0)
    if json:
        emit_json(render.apply_json(applied.report, applied.registry_failures))
    else:
        render.apply_text(out, applied.report, applied.registry_failures)
    raise typer.Exit(0 if applied.report.ok else 1)


@subscriptions_app.command("list")
def list_(config: ConfigOption, json: JsonOption = False) -> None:
    """List the server's subscriptions; managed ones are those apply created."""
    resources = [render.public(r) for r in run(lambda c: c.list_subscriptions(), settings_of(load(config)))]
    if json:
        emit_json({"entities": resources, "total": len(resources)})
    else:
        render.subscriptions_table(out, resources)


@subscriptions_app.command("status")
def status(
    config: ConfigOption,
    timeout: Annotated[float, typer.Option("--timeout", min=0, help="seconds to wait for settling")] = 30.0,
    json: JsonOption = False,
) -> None:
    """Poll delivery status of the desired and managed subscriptions until settled or --timeout.

    Exit 0 when every one settled (nothing pending or retrying) and none is missing, else 1.
    """
    cfg = load(config)

    async def main(client: BridgeClient) -> tuple[list[SubscriptionStatus], list[str]]:
        targets, missing = manage.status_targets(cfg, await client.list_subscriptions())
        return await wait_settled(client, targets, timeout), missing

    statuses, missing = run(main, settings_of(cfg))
    if json:
        emit_json({"subscriptions": [s.as_dict() for s in statuses], "missing": missing})
    else:
        render.status_table(out, statuses, missing)
    raise typer.Exit(0 if all(s.settled for s in statuses) and not missing else 1)


# --- publish --------------------------------------------------------------------------------------


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


# --- audit ----------------------------------------------------------------------------------------


@audit_app.command("verify")
def verify(file: Annotated[Path, typer.Argument(help="audit log file")]) -> None:
    """Check the hash chain; exit 1 naming the first bad line."""
    from ccbridge.observability.audit import verify as check

    result = check(file)
    if not result.ok:
        where = f"line {result.first_bad_line}: " if result.first_bad_line else ""
        fail(f"{where}{result.reason}", 1)
    lines = sum(1 for _ in file.open("rb"))
    out.print(f"ok: {file} ({lines} lines, chain intact)", highlight=False, markup=False)
