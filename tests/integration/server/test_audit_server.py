"""The server appends its own subscription writes to the audit log, chained and without secrets."""

from __future__ import annotations

from pathlib import Path

import httpx
from server_payloads import cxone_subscription

from ccbridge.observability.audit import verify
from ccbridge.testing.server import running_server


async def test_server_writes_are_audited_without_secrets(tmp_path: Path) -> None:
    """Create, update and delete each append a line; the chain verifies; no secret appears."""
    audit = tmp_path / "audit.jsonl"
    async with running_server({"audit": {"path": str(audit)}}, folder=tmp_path) as srv:
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            created = (
                await api.post(
                    "/api/v2/eventbridge/subscriptions",
                    json=cxone_subscription(),
                    headers={"Idempotency-Key": "audit-1"},
                )
            ).json()
            await api.put(
                f"/api/v2/eventbridge/subscriptions/{created['id']}",
                json=cxone_subscription(description="v2"),
            )
            await api.delete(f"/api/v2/eventbridge/subscriptions/{created['id']}")
    text = audit.read_text()
    lines = text.splitlines()
    assert [line.split('"operation":"')[1].split('"')[0] for line in lines] == ["create", "update", "delete"]
    assert '"idempotencyKey":"audit-1"' in lines[0] and srv.client_id in lines[0]
    assert created["secret"] not in text and srv.client_secret not in text
    assert verify(audit).ok
