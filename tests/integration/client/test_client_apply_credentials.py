"""Apply then plan, with subscriptions carrying credentials the server answers masked: the second
plan shows no change, a change beside a credential is applied without losing it, and neither the
plan nor the audit log shows a credential. (`queue` endpoints are stored, not dialled: the client
tests run no dispatcher.)"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from client_support import Bridge

from ccbridge.client import BridgeClient, apply_plan, make_plan
from ccbridge.observability.audit import AuditLog

BEARER = f"Bearer tok-{uuid.uuid4().hex}"
PASSWORD = f"pw-{uuid.uuid4().hex}"
DESIRED: list[dict[str, Any]] = [
    {
        "name": "calls",
        "eventTypes": ["contact.created"],
        "deliveryConfig": {
            "deliveryType": "WEBHOOK",
            "url": f"https://svc:{PASSWORD}@h.example/calls",
            "headers": {"Authorization": BEARER, "X-Tenant": "acme"},
        },
    },
    {
        "name": "crm",
        "eventType": "contact.created",
        "endpoints": [{"url": f"amqp://crm:{PASSWORD}@mq.example/vhost", "type": "queue"}],
        "deadLetterQueue": {"enabled": True, "endpointUrl": f"https://ops:{PASSWORD}@dlq.example/in"},
    },
]


def holds_no_secret(document: Any) -> bool:
    return PASSWORD not in repr(document) and BEARER not in repr(document)


async def test_plan_after_apply_shows_no_changes(
    bridge: Bridge, client: BridgeClient, tmp_path: Path
) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl", fsync=False)
    first = make_plan(DESIRED, await client.list_subscriptions())
    assert (await apply_plan(client, first, audit=audit)).ok
    current = await client.list_subscriptions()
    assert holds_no_secret(current)
    again = make_plan(DESIRED, current)
    assert not again.has_changes, again.as_dict()
    changed = [{**DESIRED[0], "description": "beside the credentials"}, DESIRED[1]]
    update = make_plan(changed, current)
    assert [c.field for a in update.actions for c in a.changes] == ["description"]
    assert holds_no_secret(update.as_dict())
    assert (await apply_plan(client, update, audit=audit)).ok
    assert not make_plan(changed, await client.list_subscriptions()).has_changes
    stored = {s.name: s for s in await bridge.runtime.store.list_subscriptions()}
    assert stored["calls"].headers["Authorization"] == BEARER  # the update kept the real credentials
    assert stored["calls"].endpoints[0].url == DESIRED[0]["deliveryConfig"]["url"]
    assert holds_no_secret((tmp_path / "audit.jsonl").read_text())
