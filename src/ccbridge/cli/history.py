"""`ccbridge events list|show` and `ccbridge deliveries list|attempts|retry`: the history routes through
the Python client, so they work against any server of the API. `--json` prints the API's answer."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ccbridge.cli.common import ConfigOption, JsonOption, emit_json, fail, load, run, settings_of
from ccbridge.client.api import BridgeClient
from ccbridge.core.validation import is_rfc3339

out = Console(soft_wrap=True)
events_app = typer.Typer(no_args_is_help=True, help="Stored events: search, show one with its deliveries.")
deliveries_app = typer.Typer(
    no_args_is_help=True, help="Deliveries: list a subscription's, show attempts, retry."
)

FromOption = Annotated[str | None, typer.Option("--from", help="RFC 3339, inclusive")]
ToOption = Annotated[str | None, typer.Option("--to", help="RFC 3339, exclusive")]
LimitOption = Annotated[int, typer.Option(min=1, max=1000)]
CursorOption = Annotated[str | None, typer.Option(help="the nextCursor of an earlier page")]


def check_time(value: str | None, option: str) -> str | None:
    """`value` when it is RFC 3339 with an offset; exits 2 naming `option` otherwise."""
    if value is not None and not is_rfc3339(value):
        fail(f"{option}: must be an RFC 3339 date-time with an offset, e.g. 2026-12-03T10:00:00Z")
    return value


def _counts(counts: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in counts.items() if v)


def events_table(events: list[dict[str, Any]]) -> Table:
    table = Table("id", "type", "received", "correlation", "deliveries")
    for e in events:
        table.add_row(e["id"], e["type"], e["receivedAt"], e["correlationId"], _counts(e["deliveryCounts"]))
    return table


def deliveries_table(deliveries: list[dict[str, Any]]) -> Table:
    table = Table(
        "id", "event", "subscription", "endpoint", "kind", "status", "attempts", "last status", "last error"
    )
    for d in deliveries:
        table.add_row(
            str(d["id"]),
            d["eventId"],
            d["subscriptionId"],
            d["endpointUrl"],
            d["kind"],
            d["status"],
            str(d["attempts"]),
            str(d.get("lastStatus") or ""),
            d.get("lastError") or "",
        )
    return table


def attempts_table(attempts: list[dict[str, Any]]) -> Table:
    table = Table("#", "at", "outcome", "status", "latency ms", "error class", "error", "response")
    for a in attempts:
        latency = a.get("latencyMs")
        table.add_row(
            str(a["attempt"]),
            a["at"],
            a["outcome"],
            str(a.get("status") or ""),
            "" if latency is None else f"{latency:.1f}",
            a.get("errorClass") or "",
            a.get("error") or "",
            (a.get("responseBody") or "")[:80],
        )
    return table


def _next(page: dict[str, Any]) -> None:
    if page.get("nextCursor"):
        out.print(f"more: --cursor {page['nextCursor']}", highlight=False)


@events_app.command("list")
def list_events(
    config: ConfigOption,
    type_: Annotated[str | None, typer.Option("--type", help="event type")] = None,
    from_: FromOption = None,
    to: ToOption = None,
    subscription: Annotated[
        str | None, typer.Option(help="events with a delivery to this subscription")
    ] = None,
    limit: LimitOption = 100,
    cursor: CursorOption = None,
    json: JsonOption = False,
) -> None:
    """Search stored events, newest first."""
    params = {
        "type": type_,
        "from": check_time(from_, "--from"),
        "to": check_time(to, "--to"),
        "subscription": subscription,
        "limit": limit,
        "cursor": cursor,
    }

    async def main(client: BridgeClient) -> dict[str, Any]:
        return await client.search_events(**params)

    page = run(main, settings_of(load(config)))
    if json:
        emit_json(page)
        return
    out.print(events_table(page["items"]))
    _next(page)


@events_app.command("show")
def show_event(event_id: str, config: ConfigOption, json: JsonOption = False) -> None:
    """One event, its deliveries and each delivery's attempts."""

    async def main(client: BridgeClient) -> dict[str, Any]:
        event = await client.get_event(event_id)
        for delivery in event["deliveries"]:
            delivery["attemptRecords"] = await client.delivery_attempts(delivery["id"])
        return event

    event = run(main, settings_of(load(config)))
    if json:
        emit_json(event)
        return
    out.print(f"{event['id']}  {event['type']}  received {event['receivedAt']}", highlight=False)
    out.print(deliveries_table(event["deliveries"]))
    for delivery in event["deliveries"]:
        if delivery["attemptRecords"]:
            out.print(f"delivery {delivery['id']} to {delivery['endpointUrl']}", highlight=False)
            out.print(attempts_table(delivery["attemptRecords"]))


@deliveries_app.command("list")
def list_deliveries(
    config: ConfigOption,
    subscription: Annotated[str, typer.Option(help="the subscription id")],
    status: Annotated[
        str | None, typer.Option(help="pending, retrying, delivered, dead or cancelled")
    ] = None,
    from_: FromOption = None,
    to: ToOption = None,
    limit: LimitOption = 100,
    cursor: CursorOption = None,
    json: JsonOption = False,
) -> None:
    """A subscription's deliveries, newest first."""
    params = {"status": status, "from": check_time(from_, "--from"), "to": check_time(to, "--to")}

    async def main(client: BridgeClient) -> dict[str, Any]:
        return await client.list_deliveries(subscription, **params, limit=limit, cursor=cursor)

    page = run(main, settings_of(load(config)))
    if json:
        emit_json(page)
        return
    out.print(deliveries_table(page["items"]))
    _next(page)


@deliveries_app.command("attempts")
def delivery_attempts(delivery_id: int, config: ConfigOption, json: JsonOption = False) -> None:
    """A delivery's attempts, oldest first."""

    async def main(client: BridgeClient) -> list[dict[str, Any]]:
        return await client.delivery_attempts(delivery_id)

    attempts = run(main, settings_of(load(config)))
    emit_json({"items": attempts}) if json else out.print(attempts_table(attempts))


@deliveries_app.command("retry")
def retry_delivery(delivery_id: int, config: ConfigOption, json: JsonOption = False) -> None:
    """Queue a dead or delivered delivery again, due now (exit 1 when it is pending already)."""

    async def main(client: BridgeClient) -> dict[str, Any]:
        return await client.retry_delivery(delivery_id)

    delivery = run(main, settings_of(load(config)))
    if json:
        emit_json(delivery)
    else:
        out.print(f"delivery {delivery['id']} queued again ({delivery['status']})", highlight=False)
