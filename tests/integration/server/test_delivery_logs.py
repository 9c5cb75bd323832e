"""Retries and dead letters are logged with the endpoint they were for (credentials and query
secrets masked) and the attempt, so an operator can tell which consumer is failing."""

from __future__ import annotations

import httpx
from structlog.testing import capture_logs

from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.server import running_server, wait_until

SUBS = "/api/v2/eventbridge/subscriptions"
EVENT = {"eventType": "OrderCreated", "attributes": {"orderId": "o-1"}, "timestamp": "2026-11-24T10:00:00Z"}
PASSWORD = "pw-never-logged-123"
QUERY_SECRET = "tok-never-logged-456"
RETRY = {"maxRetries": 1, "backoffStrategy": "linear", "initialDelayMs": 20, "maxDelayMs": 20}


async def test_retry_and_dead_letter_lines_name_the_masked_endpoint_and_attempt() -> None:
    """A 503 twice: one `delivery retry` line (attempt 1) and one `dead letter` line (attempt 2),
    both naming the endpoint with its password and `token` query value masked."""
    async with (
        WebhookReceiver(Behaviour(status=503)) as hook,
        running_server({"delivery": {"allowed_networks": ["127.0.0.0/8"]}}) as srv,
    ):
        url = hook.url.replace("http://", f"http://crm:{PASSWORD}@", 1) + f"?token={QUERY_SECRET}&site=eu"
        token = await srv.token()
        with capture_logs() as logs:
            async with httpx.AsyncClient(
                base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
            ) as api:
                body = {
                    "name": "failing",
                    "eventType": "OrderCreated",
                    "endpoints": [{"url": url}],
                    "retryConfiguration": RETRY,
                }
                assert (await api.post(SUBS, json=body)).status_code == 201
                assert (await api.post("/api/v2/eventbridge/events", json=EVENT)).status_code == 201

                async def dead() -> bool:
                    return any(e["event"] == "dead letter" for e in logs)

                assert await wait_until(dead)
    lines = [e for e in logs if e["event"] in ("delivery retry", "dead letter")]
    assert [(e["event"], e["attempt"]) for e in lines] == [("delivery retry", 1), ("dead letter", 2)]
    for line in lines:
        assert line["endpoint"].startswith("http://crm:***@127.0.0.1:") and "site=eu" in line["endpoint"]
        assert "token=***" in line["endpoint"] and line["endpoint_type"] == "webhook"
    assert PASSWORD not in repr(logs) and QUERY_SECRET not in repr(logs)
