"""`ccbridge subscriptions plan|apply|list|status`: declarative subscriptions through the Python client."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import typer

from ccbridge.cli.common import (
    ConfigOption,
    JsonOption,
    emit_json,
    err,
    fail,
    load,
    out,
    run,
    settings_of,
)
from ccbridge.client import manage, render
from ccbridge.client.api import BridgeClient
from ccbridge.client.apply import ApplyReport
from ccbridge.client.config import ApiConfig
from ccbridge.client.plan import Plan
from ccbridge.client.status import SubscriptionStatus, wait_settled
from ccbridge.errors import InputError

subscriptions_app = typer.Typer(
    no_args_is_help=True, help="Declarative subscriptions: plan, apply, list, status."
)


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
