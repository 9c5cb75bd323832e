"""`ccbridge deadletters list|show|replay|purge`: the dead-letter routes through the Python client,
so the commands work against any server of the API, not just a local file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ccbridge.cli.common import ConfigOption, JsonOption, emit_json, fail, run, settings_of
from ccbridge.client.api import BridgeClient

out = Console(soft_wrap=True)


def _table(letters: list[dict[str, Any]]) -> Table:
    table = Table(
        "id", "event", "type", "subscription", "endpoint", "attempts", "status", "reason", "dead at"
    )
    for d in letters:
        table.add_row(
            str(d["id"]),
            d["eventId"],
            d["eventType"],
            d["subscriptionId"],
            d["endpointUrl"],
            str(d["attempts"]),
            str(d.get("lastStatus") or ""),
            d.get("reason") or "",
            d["deadAt"],
        )
    return table


def register(group: typer.Typer, load: Callable[[Path], Any]) -> None:
    """Mount the commands on `group` (the CLI's `deadletters` sub-app)."""

    @group.command("list")
    def list_letters(
        config: ConfigOption,
        subscription: Annotated[str | None, typer.Option()] = None,
        limit: int = 100,
        json: JsonOption = False,
    ) -> None:
        """List dead letters, newest first."""

        async def main(client: BridgeClient) -> list[dict[str, Any]]:
            return await client.list_dead_letters(subscription, limit)

        letters = run(main, settings_of(load(config)))
        emit_json({"entities": letters}) if json else out.print(_table(letters))

    @group.command("show")
    def show(letter_id: int, config: ConfigOption) -> None:
        """Show one dead letter with its event (JSON)."""

        async def main(client: BridgeClient) -> dict[str, Any]:
            return await client.get_dead_letter(letter_id)

        emit_json(run(main, settings_of(load(config))))

    @group.command("replay")
    def replay(
        config: ConfigOption,
        letter_id: Annotated[int | None, typer.Argument()] = None,
        subscription: Annotated[str | None, typer.Option()] = None,
        all_: Annotated[bool, typer.Option("--all")] = False,
        json: JsonOption = False,
    ) -> None:
        """Re-queue dead letters with the attempt count reset (idempotent): ID, --subscription S or --all."""
        if sum((letter_id is not None, subscription is not None, all_)) != 1:
            fail("give exactly one of ID, --subscription S or --all")

        async def main(client: BridgeClient) -> int:
            if letter_id is not None:
                reply = await client.replay_dead_letter(letter_id)
                return int(reply.body.get("replayed", 0)) if isinstance(reply.body, dict) else 0
            return await client.replay_dead_letters(subscription)

        count = run(main, settings_of(load(config)))
        emit_json({"replayed": count}) if json else out.print(f"replayed {count}")

    @group.command("purge")
    def purge(
        config: ConfigOption,
        older_than_days: Annotated[int, typer.Option(min=0)] = 0,
        json: JsonOption = False,
    ) -> None:
        """Delete dead letters older than N days (0: all of them)."""

        async def main(client: BridgeClient) -> int:
            return await client.purge_dead_letters(older_than_days)

        count = run(main, settings_of(load(config)))
        emit_json({"purged": count}) if json else out.print(f"purged {count}")
