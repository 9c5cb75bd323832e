"""`ccbridge connectors status`: each connector's state through the API (any replica answers), so the
command works against a running server, not the store file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ccbridge.cli.common import ConfigOption, JsonOption, emit_json, run, settings_of
from ccbridge.client.api import BridgeClient

out = Console(soft_wrap=True)
connectors_app = typer.Typer(no_args_is_help=True, help="Connectors to the real platforms: status.")


def _channels(entity: dict[str, Any]) -> str:
    """`id (n topics, state)` per channel (Genesys), or `agent: session` per session (CXone)."""
    if entity.get("channels"):
        return "\n".join(
            f"{c.get('id')} ({len(c.get('topics') or [])} topics, {c.get('state')})"
            for c in entity["channels"]
        )
    sessions = entity.get("sessions") or []
    return "\n".join(f"{s.get('agentId', '?')}: {s.get('sessionId') or '-'}" for s in sessions)


def _gap(entity: dict[str, Any]) -> str:
    gap = entity.get("lastGap")
    return f"{gap.get('from')} .. {gap.get('to')}" if isinstance(gap, dict) else ""


def table(entities: list[dict[str, Any]]) -> Table:
    result = Table(
        "name", "kind", "state", "owner", "channels / sessions", "token expires", "last message", "last gap"
    )
    for e in entities:
        result.add_row(
            e["name"],
            e["kind"],
            e["state"],
            e.get("owner") or "",
            _channels(e),
            e.get("tokenExpiresAt") or "",
            e.get("lastMessageAt") or "",
            _gap(e),
        )
    return result


def register(load: Callable[[Path], Any]) -> typer.Typer:
    @connectors_app.command("status")
    def status(config: ConfigOption, json: JsonOption = False) -> None:
        """Each configured connector: connected or not, channels and topics, token expiry, last message, last gap."""

        async def main(client: BridgeClient) -> list[dict[str, Any]]:
            return await client.list_connectors()

        entities = run(main, settings_of(load(config)))
        if json:
            emit_json({"entities": entities, "total": len(entities)})
        elif not entities:
            out.print("no connectors are configured")
        else:
            out.print(table(entities))

    return connectors_app
