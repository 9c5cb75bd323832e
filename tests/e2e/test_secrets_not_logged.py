"""`ccbridge serve` at debug level, with an audit log: subscriptions carrying credentials are created,
read back, sent back, delivered, dead-lettered and forwarded, a masked create is refused, and
neither the server's log nor the audit log holds any of those credentials."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.server import kill, wait_until
from ccbridge.testing.servers import Servers

SUBS = "/api/v2/eventbridge/subscriptions"
EVENT = {"eventType": "OrderCreated", "attributes": {"orderId": "o-1"}, "timestamp": "2026-11-24T10:00:00Z"}
BEARER = f"tok-{uuid.uuid4().hex}"
API_KEY = f"key-{uuid.uuid4().hex}"
PASSWORD = f"pw-{uuid.uuid4().hex}"
DLQ_PASSWORD = f"dlqpw-{uuid.uuid4().hex}"


def credentialed(url: str, user: str, password: str) -> str:
    return url.replace("http://", f"http://{user}:{password}@", 1)


def subscriptions(ok: str, refusing: str, dlq: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "headers",
            "eventTypes": ["OrderCreated"],
            "deliveryConfig": {
                "url": ok,
                "headers": {"Authorization": f"Bearer {BEARER}", "X-Api-Key": API_KEY},
            },
        },
        {
            "name": "dead",
            "eventType": "OrderCreated",
            "endpoints": [{"url": credentialed(refusing, "crm", PASSWORD)}],
            "deadLetterQueue": {"enabled": True, "endpointUrl": credentialed(dlq, "ops", DLQ_PASSWORD)},
        },
    ]


async def test_no_credential_reaches_the_server_log_or_the_audit_log(
    tmp_path: Path, servers: Servers
) -> None:
    audit = tmp_path / "audit.jsonl"
    overrides = {"logging": {"level": "debug"}, "audit": {"path": str(audit)}}
    async with (
        WebhookReceiver() as ok,
        WebhookReceiver(Behaviour(status=404)) as refusing,
        WebhookReceiver() as dlq,
    ):
        srv = await servers.start(tmp_path, overrides)
        token = await srv.token()
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            for body in subscriptions(ok.url, refusing.url, dlq.url):
                created = (await api.post(SUBS, json=body)).json()
                fetched = (await api.get(f"{SUBS}/{created['id']}")).json()
                assert (await api.put(f"{SUBS}/{created['id']}", json=fetched)).status_code == 200
            masked = subscriptions(ok.url, refusing.url, dlq.url)[0]
            masked["deliveryConfig"]["headers"] = {"Authorization": "***"}
            assert (await api.post(SUBS, json=masked)).status_code == 400
            assert (await api.post("/api/v2/eventbridge/events", json=EVENT)).status_code == 201
            await ok.wait_for(1)
            await dlq.wait_for(1)
            assert await wait_until(lambda: _letters(api))
        await asyncio.to_thread(kill, srv, signal.SIGTERM)
    assert ok.received[0].headers["Authorization"] == f"Bearer {BEARER}"  # the real one was used
    log = (tmp_path / "server.log").read_text()
    trail = audit.read_text()
    # 2 creates, 2 updates and the refused masked create: the grep has text
    assert "dead letter" in log and len(trail.splitlines()) == 5
    for secret in (BEARER, API_KEY, PASSWORD, DLQ_PASSWORD):
        assert secret not in log and secret not in trail


async def _letters(api: httpx.AsyncClient) -> list[Any]:
    return list((await api.get("/api/v2/eventbridge/deadletters")).json()["entities"])


SECRET_KEYS = re.compile(r"secret|password|token|passphrase|api_key|hmac", re.IGNORECASE)
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")
WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=]{16,}")


def configured_secrets(node: Any, under_secret_key: bool = False) -> set[str]:
    """Every secret a config holds: values under keys naming a secret, and passwords inside URLs."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found |= configured_secrets(value, under_secret_key or bool(SECRET_KEYS.search(str(key))))
    elif isinstance(node, list):
        for item in node:
            found |= configured_secrets(item, under_secret_key)
    elif isinstance(node, str):
        if under_secret_key and len(node) >= 8:
            found.add(node)
        with contextlib.suppress(ValueError):
            if password := urlsplit(node).password:
                found.add(f":{password}@")
    return found


@pytest.mark.slow
def test_a_full_demo_run_logs_no_configured_secret(tmp_path: Path) -> None:
    """`ccbridge demo` with the server's log at debug level (JSON lines): none of the config's client
    secrets, HMAC keys or URL passwords, no subscription secret and no token appears in it, while
    the log does name the events, subscriptions, endpoints and attempts it worked on."""
    log_file = tmp_path / "demo.log"
    done = subprocess.run(
        [sys.executable, "-m", "ccbridge", "demo", "--keep", "--log-file", str(log_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        check=False,
    )
    kept = re.search(r"keeping the temporary folder (\S+)", done.stdout)
    assert kept is not None, done.stdout[-2000:]
    folder = Path(kept.group(1))
    try:
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        config = yaml.safe_load((folder / "ccbridge.yaml").read_text())
        secrets = configured_secrets(config)
        log = log_file.read_text()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lines = [json.loads(line) for line in log.splitlines()]
    attempts = [line for line in lines if line["event"] == "delivery attempt"]
    assert attempts and all(
        {"event_id", "correlation_id", "subscription_id", "endpoint", "attempt"} <= set(line)
        for line in attempts
    )
    assert len(secrets) >= 2  # the auth client secret and the inbound HMAC key at least: the grep has targets
    for secret in secrets:
        assert secret not in log, f"a configured secret ({secret[:4]}...) is in the log"
    assert not JWT.search(log) and not WHSEC.search(log)
