"""Human-readable output of plans, apply reports, listings and statuses (rich), for the CLI.

Machine-readable output is each object's `as_dict()` as JSON; this module is only for people.
Nothing here prints a secret: subscription listings show neither `secret` nor `secretHint`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ccbridge.client.apply import ApplyReport
from ccbridge.client.batch import Rejected
from ccbridge.client.plan import Plan, is_managed
from ccbridge.client.publish import PublishResult
from ccbridge.client.registry import RegistryFailure
from ccbridge.client.status import SubscriptionStatus
from ccbridge.errors import FieldError

_SIGNS = {
    "create": "[green]+ create[/]",
    "update": "[yellow]~ update[/]",
    "delete": "[red]- delete[/]",
    "unchanged": "[dim]= unchanged[/]",
}


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode() if value is not None else "(none)"
    return text if len(text) <= 80 else text[:77] + "..."


def plan_text(console: Console, plan: Plan) -> None:
    for action in plan.actions:
        suffix = f" ({action.id})" if action.id else ""
        console.print(f"{_SIGNS[action.kind]} {action.name}{suffix}", highlight=False)
        for change in action.changes:
            console.print(
                f"    {change.field}: {_short(change.before)} -> {_short(change.after)}", highlight=False
            )
    counts = plan.counts()
    console.print(
        f"Plan: {counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete, "
        f"{counts['unchanged']} unchanged.",
        highlight=False,
    )


def apply_text(console: Console, report: ApplyReport, failures: Sequence[RegistryFailure]) -> None:
    for outcome in report.outcomes:
        mark = "[red]failed[/]" if outcome.status == "failed" else f"[green]{outcome.status}[/]"
        detail = f": {outcome.error}" if outcome.error else ""
        console.print(f"{mark} {outcome.name} ({outcome.id or '-'}){detail}", highlight=False)
    for failure in failures:
        console.print(
            f"[yellow]registry not notified[/] {failure.subscription_id} {failure.state}: {failure.error}",
            highlight=False,
        )
    console.print(f"Apply: {report.writes} written, {len(report.outcomes) - report.writes} failed.")


def apply_json(report: ApplyReport, failures: Sequence[RegistryFailure]) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "outcomes": [
            {"action": o.action, "name": o.name, "id": o.id, "status": o.status, "error": o.error}
            for o in report.outcomes
        ],
        "registryFailures": [
            {
                "subscriptionId": f.subscription_id,
                "state": f.state,
                "timestamp": f.timestamp,
                "error": f.error,
            }
            for f in failures
        ],
    }


def public(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in ("secret", "secretHint")}


def subscriptions_table(console: Console, resources: Sequence[dict[str, Any]]) -> None:
    table = Table("name", "id", "state", "event types", "managed")
    for r in resources:
        types = r.get("eventTypes") or [r.get("eventType")]
        table.add_row(
            str(r.get("name")),
            str(r.get("id")),
            str(r.get("state")),
            ", ".join(str(t) for t in types),
            "yes" if is_managed(r) else "no",
        )
    console.print(table)


def status_table(console: Console, statuses: Sequence[SubscriptionStatus], missing: Sequence[str]) -> None:
    table = Table(
        "name", "state", "delivered", "pending", "retrying", "dead-lettered", "settled", "last error"
    )
    for s in statuses:
        status = s.status or {}
        counts = status.get("counts") or {}
        table.add_row(
            s.name,
            str(status.get("state", "?")),
            *(str(counts.get(k, "?")) for k in ("delivered", "pending", "retrying", "deadLettered")),
            "yes" if s.settled else "no",
            str(s.error or status.get("lastDeliveryError") or ""),
        )
    for name in missing:
        table.add_row(name, "missing", "", "", "", "", "no", "not on the server (run apply)")
    console.print(table)


def field_errors(console: Console, errors: Sequence[FieldError]) -> None:
    for error in errors:
        console.print(f"{error.field or '(input)'}: {error.message}", highlight=False, markup=False)


def publish_json(result: PublishResult) -> dict[str, Any]:
    return {
        "eventId": result.event_id,
        "idempotencyKey": result.idempotency_key,
        "duplicate": result.duplicate,
        "correlationId": result.correlation_id,
    }


def publish_text(console: Console, result: PublishResult) -> None:
    label = "duplicate of" if result.duplicate else "published"
    console.print(f"{label} event {result.event_id}", highlight=False)
    console.print(f"idempotency key {result.idempotency_key}", highlight=False)
    console.print(f"correlation id {result.correlation_id}", highlight=False)


def progress_bar(console: Console, *, disable: bool) -> Progress:
    columns = (TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    return Progress(*columns, console=console, disable=disable)


def batch_text(
    out: Console, err: Console, counts: dict[str, int], rejected: Sequence[Rejected], target: Any
) -> None:
    """The counts on `out`; the first ten rejected lines and where all of them went on `err`."""
    out.print(", ".join(f"{k} {v}" for k, v in counts.items()), highlight=False)
    for item in rejected[:10]:
        reasons = "; ".join(f"{e.field or '(line)'}: {e.message}" for e in item.errors)
        err.print(f"line {item.line}: {reasons}", highlight=False, markup=False)
    if rejected:
        err.print(f"rejected lines written to {target}", highlight=False, markup=False)
