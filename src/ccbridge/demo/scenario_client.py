"""Step 7: the client side through `ccbridge.client`, as `ccbridge subscriptions` and
`ccbridge publish` use it, against the same server and the same config file.

Plan/apply must converge (a second plan has nothing to do), and publishing must refuse bad data
locally, naming every error, before anything reaches the server.
"""

from __future__ import annotations

import orjson

from ccbridge.client import BridgeClient, client_settings, publish, publish_lines
from ccbridge.client.manage import apply_subscriptions, plan_subscriptions, publish_settings
from ccbridge.config import load_config
from ccbridge.demo.context import Demo, arrivals
from ccbridge.errors import InputError
from ccbridge.observability.audit import verify

ORDERS = [
    {
        "orderId": f"ORD-00000000{i:02d}",
        "customerId": f"CUST-{i}",
        "totalAmount": amount,
        "currency": "EUR",
        "timestamp": "2026-11-24T10:00:00Z",
    }
    for i, amount in ((1, 120.0), (2, 1500.0), (3, 80.5))
]
BAD_ORDER = {
    "orderId": "12345",
    "totalAmount": -5,
    "currency": "euro",
    "email": "not-an-email",
    "timestamp": "yesterday",
}


def _plan_figure(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in ("create", "update", "delete", "unchanged"))


async def client_side(ctx: Demo) -> None:
    config = load_config(ctx.srv.config_path)
    async with BridgeClient(client_settings(config)) as client:
        plan = await plan_subscriptions(client, config)
        ctx.check(
            "plan: the declared subscriptions",
            "2 create, 0 update, 0 delete, 0 unchanged",
            _plan_figure(plan.counts()),
        )
        applied = await apply_subscriptions(client, config, plan)
        ctx.check("apply", "created, created", ", ".join(o.status for o in applied.report.outcomes))
        again = await plan_subscriptions(client, config)
        ctx.check(
            "plan again: nothing to do",
            "no changes (2 unchanged)",
            f"{'changes' if again.has_changes else 'no changes'} ({again.counts()['unchanged']} unchanged)",
        )
        audit = verify(ctx.srv.folder / "audit.jsonl")
        ctx.check(
            "audit log hash chain", "valid", "valid" if audit.ok else f"broken at line {audit.first_bad_line}"
        )

        settings = publish_settings(config)
        try:
            await publish(client, "OrderCreated", BAD_ORDER, config=settings)
            errors: list[str] = []
        except InputError as exc:
            errors = sorted({e.field for e in exc.errors})
        expected = "data, data.currency, data.email, data.orderId, data.timestamp, data.totalAmount"
        ctx.check(
            "publish with schema errors: refused locally, every field",
            expected,
            ", ".join(errors) or "published",
        )

        lines = [orjson.dumps({"type": "OrderCreated", "data": order}).decode() for order in ORDERS]
        lines.append(lines[0])  # the same business transaction again: same idempotency key
        lines.append(orjson.dumps({"type": "OrderCreated", "data": {**ORDERS[0], "currency": "eu"}}).decode())
        batch = await publish_lines(client, lines, config=settings, concurrency=1)
    ctx.tally["events:cxone:created"] += batch.published
    ctx.tally["events:cxone:duplicate"] += batch.duplicates
    ctx.check(
        "batch of 5 lines: published / duplicates / rejected",
        "3 / 1 / 1 (line 5)",
        f"{batch.published} / {batch.duplicates} / {len(batch.rejected)}"
        f" (line {', '.join(str(r.line) for r in batch.rejected)})",
    )
    feed = await arrivals(ctx.hooks["orders"], 3)
    big = await arrivals(ctx.hooks["big"], 1, within=2)
    ctx.check(
        "applied subscriptions deliver: orders-feed / big-orders",
        "3 / 1 (ORD-0000000002)",
        f"{len(feed)} / {len(big)} ({', '.join(str(r.json()['data'].get('orderId')) for r in big)})",
    )
