"""SIGTERM: the server stops accepting, lets in-flight deliveries finish, exits 0, and leaves the
rest queued for the next start."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.server import kill, start_process


@pytest.mark.slow
async def test_sigterm_finishes_in_flight_and_keeps_the_rest(tmp_path: Path) -> None:
    """A slow consumer's in-flight deliveries complete during shutdown; queued ones are delivered after restart."""
    overrides = {
        "delivery": {
            "allowed_networks": ["127.0.0.0/8"],
            "per_endpoint_concurrency": 2,
            "shutdown_grace_seconds": 5,
        }
    }
    async with WebhookReceiver(Behaviour(delay=0.5)) as receiver:
        srv = await asyncio.to_thread(start_process, tmp_path, overrides)
        token = await srv.token()
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=srv.base_url, headers=headers) as api:
            await api.post(
                "/api/v2/eventbridge/subscriptions",
                json={"name": "slow", "eventType": "contact.created", "endpoints": [{"url": receiver.url}]},
            )
            ids = []
            for n in range(10):
                ack = await api.post(
                    "/api/v2/eventbridge/events",
                    json={
                        "eventType": "contact.created",
                        "attributes": {"n": n},
                        "timestamp": "2026-11-24T10:00:00Z",
                    },
                )
                ids.append(ack.json()["id"])
        await receiver.wait_for(1, timeout=10)
        await asyncio.to_thread(kill, srv, signal.SIGTERM)
        assert srv.process is not None and srv.process.returncode == 0
        answered_before = {r.json()["id"] for r in receiver.received if r.status == 200}
        assert 0 < len(answered_before) < 10
        restarted = await asyncio.to_thread(
            start_process, tmp_path, overrides, int(srv.base_url.rsplit(":", 1)[1])
        )
        try:
            for _ in range(300):
                if {r.json()["id"] for r in receiver.received} >= set(ids):
                    break
                await asyncio.sleep(0.05)
        finally:
            await asyncio.to_thread(kill, restarted, signal.SIGTERM)
    assert {r.json()["id"] for r in receiver.received} >= set(ids)
