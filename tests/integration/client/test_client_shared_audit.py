"""A client and a server writing to one audit file give one line per write: the server writes it
(it knows how every write ended, refused ones too) and says so (`X-Audit-Logged: server`), and the
client then writes none; against a server that does not audit, the client keeps its own lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from client_support import Bridge, Wire, running_app

from ccbridge.client import apply_plan, make_plan
from ccbridge.client.api import BridgeClient
from ccbridge.observability.audit import AuditLog, verify

CALLS = {"name": "calls", "eventType": "contact.created", "endpoints": [{"url": "https://h.example/a"}]}
REFUSED = {"name": "bad", "eventType": "contact.created", "endpoints": [{"url": "ftp://nowhere.example"}]}


async def _apply_twice(client: BridgeClient, audit: AuditLog) -> None:
    """Two creates (one refused), then an update and a delete: four writes."""
    await apply_plan(client, make_plan([CALLS, REFUSED], []), audit=audit)
    current = await client.list_subscriptions()
    await apply_plan(client, make_plan([{**CALLS, "description": "d"}], current), audit=audit)
    current = await client.list_subscriptions()
    await apply_plan(client, make_plan([], current), audit=audit)


def _records(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def test_one_line_per_write_when_client_and_server_share_the_file(tmp_path: Path) -> None:
    """Four writes, four lines, each the server's (its request id, the HTTP status), chain valid."""
    path = tmp_path / "audit.jsonl"
    async with running_app(tmp_path, {"audit": {"path": str(path)}}) as runtime:
        bridge = Bridge(runtime, Wire({"bridge.test": runtime.app}), tmp_path)
        async with bridge.client() as client:
            await _apply_twice(client, AuditLog(path, fsync=False))
        assert runtime.services.audit is not None
        await runtime.services.audit.drain()
    records = _records(path)
    assert sorted((r["operation"], r["status"]) for r in records) == [
        ("create", 201),
        ("create", 400),
        ("delete", 204),
        ("update", 200),
    ]
    assert all(r["actor"] == "cli" and r["requestId"] for r in records) and verify(path).ok


async def test_the_client_keeps_its_lines_when_the_server_does_not_audit(tmp_path: Path) -> None:
    """Without `audit:` on the server, the client's own four lines are written."""
    path = tmp_path / "audit.jsonl"
    async with running_app(tmp_path) as runtime:
        bridge = Bridge(runtime, Wire({"bridge.test": runtime.app}), tmp_path)
        async with bridge.client() as client:
            await _apply_twice(client, AuditLog(path, fsync=False))
    assert sorted((r["operation"], r["status"]) for r in _records(path)) == [
        ("create", "created"),
        ("create", "failed"),
        ("delete", "deleted"),
        ("update", "updated"),
    ]
