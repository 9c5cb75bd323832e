"""Step 9: what an operator sees. `/metrics` must agree with what the demo itself caused and what
the consumers received, so the counters are checked against those tallies, not just shown.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from ccbridge.demo.context import Demo
from ccbridge.rules import matches


def _samples(text: str) -> dict[str, float]:
    """`name{label=value,...}` -> value, labels sorted, for the `_total` samples of counters."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_total"):
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


async def metrics(ctx: Demo) -> None:
    response = await ctx.web.get("/metrics")
    ctx.check("GET /metrics", 200, response.status_code)
    seen = _samples(response.text)

    def figure(name: str, **labels: str) -> int:
        key = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        return int(seen.get(f"{name}{{{key}}}", 0))

    t = ctx.tally
    for dialect in ("cxone", "genesys"):
        expected = f"{t[f'events:{dialect}:created']} created, {t[f'events:{dialect}:duplicate']} duplicate"
        actual = (
            f"{figure('ccbridge_events_received_total', dialect=dialect, outcome='created')} created, "
            f"{figure('ccbridge_events_received_total', dialect=dialect, outcome='duplicate')} duplicate"
        )
        ctx.check(f"events received ({dialect})", expected, actual)
    inbound = ("stored", "duplicate", "unauthorized", "forbidden")
    ctx.check(
        "inbound webhooks: stored / duplicate / unsigned 401 / forged 403",
        " / ".join(str(t[f"inbound:{r}"]) for r in inbound),
        " / ".join(str(figure("ccbridge_inbound_webhooks_total", result=r)) for r in inbound),
    )
    ingest = ("accepted", "duplicate", "AuthError", "InputError")
    ctx.check(
        "ingest: accepted / duplicate / 401 / 422",
        " / ".join(str(t[f"ingest:{r}"]) for r in ingest),
        " / ".join(str(figure("ccbridge_ingest_requests_total", result=r)) for r in ingest),
    )
    answered = [r.status for hook in ctx.hooks.values() for r in hook.received]
    ok_webhook = sum(200 <= s < 300 for s in answered)
    failed_webhook = len(answered) - ok_webhook
    grpc_ok = sum(len(c.received) for c in ctx.consumers.values())
    ctx.check(
        "deliveries: webhook OK = 2xx the receivers answered",
        ok_webhook,
        figure("ccbridge_deliveries_total", outcome="delivered", endpoint_type="webhook"),
    )
    ctx.check(
        "deliveries: gRPC OK = calls the consumers accepted",
        grpc_ok,
        figure("ccbridge_deliveries_total", outcome="delivered", endpoint_type="grpc"),
    )
    retry = figure("ccbridge_deliveries_total", outcome="retry", endpoint_type="webhook")
    failed = figure("ccbridge_deliveries_total", outcome="failed", endpoint_type="webhook")
    retries = figure("ccbridge_delivery_retries_total", endpoint_type="webhook")
    dead = figure("ccbridge_dead_letters_total", endpoint_type="webhook")
    ctx.check(
        "deliveries: webhook retried + dead = non-2xx answers",
        f"{failed_webhook} (4 retried + 1 dead)",
        f"{retry + failed} ({retries} retried + {dead} dead)",
    )
    health = (await ctx.web.get("/healthz")).json().get("status")
    ready = (await ctx.web.get("/readyz")).json().get("status")
    paths = (await ctx.web.get("/openapi.json")).json().get("paths", {})
    ctx.check(
        "healthz / readyz / OpenAPI lists events and ingest",
        "ok / ready / yes",
        f"{health} / {ready} / {'yes' if {'/api/v2/eventbridge/events', '/ingest'} <= set(paths) else 'no'}",
    )
    pattern = {"detail-type": ["order"], "data": {"total": [{"numeric": [">", 100]}]}}
    verdicts = [matches(pattern, {"detail-type": "order", "data": {"total": total}}) for total in (150, 50)]
    ctx.check(
        "ccbridge.rules.matches (total > 100) for 150 and 50",
        "true, false",
        ", ".join(str(v).lower() for v in verdicts),
    )
