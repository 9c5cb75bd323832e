"""`ccbridge endpoints list|enable|disable`: a subscription's endpoints and their circuit breakers,
through the Python client (so the commands work against any server of the API)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ccbridge.cli.common import ConfigOption, JsonOption, emit_json, load, run, settings_of
from ccbridge.client.api import BridgeClient

out = Console(soft_wrap=True)
endpoints_app = typer.Typer(
    no_args_is_help=True, help="A subscription's endpoints: breaker state, enable, disable."
)
SubscriptionArg = Annotated[str, typer.Argument(help="the subscription id")]


def _table(entities: list[dict[str, Any]]) -> Table:
    table = Table("index", "url", "type", "rate/s", "state", "failures", "next probe", "last error")
    for e in entities:
        table.add_row(
            str(e["index"]),
            e["url"],
            e["type"],
            str(e.get("rateLimitPerSecond") or ""),
            e["state"] + (f" ({e['disabledBy']})" if e.get("disabledBy") else ""),
            str(e["consecutiveFailures"]),
            e.get("nextProbeAt") or "",
            e.get("lastError") or "",
        )
    return table


@endpoints_app.command("list")
def list_endpoints(subscription: SubscriptionArg, config: ConfigOption, json: JsonOption = False) -> None:
    """List a subscription's endpoints with their breaker state."""

    async def main(client: BridgeClient) -> list[dict[str, Any]]:
        return await client.list_endpoints(subscription)

    entities = run(main, settings_of(load(config)))
    emit_json({"subscriptionId": subscription, "entities": entities}) if json else out.print(_table(entities))


def _switch(subscription: str, index: int, config: Any, json: bool, enabled: bool) -> None:
    async def main(client: BridgeClient) -> dict[str, Any]:
        return await client.set_endpoint_enabled(subscription, index, enabled)

    entity = run(main, settings_of(load(config)))
    emit_json(entity) if json else out.print(f"endpoint {index} of {subscription}: {entity['state']}")


@endpoints_app.command("enable")
def enable(
    subscription: SubscriptionArg,
    index: Annotated[int, typer.Argument(min=0, help="the endpoint's index (see list)")],
    config: ConfigOption,
    json: JsonOption = False,
) -> None:
    """Enable an endpoint: its breaker closes with the counts reset (dead letters stay; replay them)."""
    _switch(subscription, index, config, json, True)


@endpoints_app.command("disable")
def disable(
    subscription: SubscriptionArg,
    index: Annotated[int, typer.Argument(min=0, help="the endpoint's index (see list)")],
    config: ConfigOption,
    json: JsonOption = False,
) -> None:
    """Disable an endpoint: nothing is sent to it; its deliveries become dead letters."""
    _switch(subscription, index, config, json, False)
