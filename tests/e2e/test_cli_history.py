"""`ccbridge events`, `ccbridge deliveries` and `ccbridge replay` as a user runs them: child processes
against a running server named by the config file, `--json` and tables, exit codes."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx

from ccbridge.core.times import iso
from ccbridge.testing import WebhookReceiver
from ccbridge.testing.server import RunningServer, running_server, wait_until

SUBS = "/api/v2/eventbridge/subscriptions"
EVENTS = "/api/v2/eventbridge/events"


async def accbridge(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ccbridge",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def _client(srv: RunningServer) -> httpx.AsyncClient:
    token = await srv.token()
    return httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"})


async def _setup(api: httpx.AsyncClient, receiver: WebhookReceiver, events: int) -> tuple[str, list[str]]:
    sub = await api.post(
        SUBS,
        json={
            "name": "orders",
            "eventType": "OrderCreated",
            "endpoints": [{"url": receiver.url}],
            "retryConfiguration": {"maxRetries": 0},
        },
    )
    ids = []
    for n in range(events):
        body = {"eventType": "OrderCreated", "attributes": {"n": n}, "timestamp": "2026-11-24T10:00:00Z"}
        ids.append((await api.post(EVENTS, json=body)).json()["id"])
    return str(sub.json()["id"]), ids


async def test_events_and_deliveries_commands() -> None:
    """list/show/attempts/retry print the server's answers (JSON and tables) and exit 0; a retry of a
    pending delivery exits 1 with the conflict."""
    async with running_server() as srv, WebhookReceiver() as receiver:
        receiver.behave(status=410)
        config = ("--config", str(srv.config_path))
        async with await _client(srv) as api:
            sub_id, [event_id] = await _setup(api, receiver, 1)

            async def dead() -> bool:
                page = (await api.get(f"{SUBS}/{sub_id}/deliveries", params={"status": "dead"})).json()
                return bool(page["items"])

            assert await wait_until(dead, timeout=10)
        code, out, err = await accbridge("events", "list", "--type", "OrderCreated", "--json", *config)
        assert code == 0, err
        assert [e["id"] for e in json.loads(out)["items"]] == [event_id]
        code, out, err = await accbridge("events", "show", event_id, "--json", *config)
        shown: dict[str, Any] = json.loads(out)
        [delivery] = shown["deliveries"]
        assert code == 0 and [a["status"] for a in delivery["attemptRecords"]] == [410]
        code, table, _ = await accbridge("events", "show", event_id, *config)
        assert code == 0 and "failed" in table and "410" in table
        code, out, _ = await accbridge(
            "deliveries", "list", "--subscription", sub_id, "--status", "dead", "--json", *config
        )
        assert code == 0 and [d["id"] for d in json.loads(out)["items"]] == [delivery["id"]]
        code, table, _ = await accbridge("deliveries", "attempts", str(delivery["id"]), *config)
        assert code == 0 and "HTTP 410" in table and "not ok" in table
        receiver.behave(status=200)
        code, out, _ = await accbridge("deliveries", "retry", str(delivery["id"]), "--json", *config)
        assert code == 0 and json.loads(out)["id"] == delivery["id"]
        await receiver.wait_for(2, timeout=10)
        code, _, err = await accbridge("events", "list", "--from", "yesterday", *config)
        assert code == 2 and "--from" in err


async def test_replay_command_follows_the_job_to_its_final_count() -> None:
    """A dry run counts; a replay re-delivers the range and prints its count; bad options exit 2."""
    async with running_server() as srv, WebhookReceiver() as receiver:
        config = ("--config", str(srv.config_path))
        start = iso(time.time() - 1)
        async with await _client(srv) as api:
            sub_id, ids = await _setup(api, receiver, 3)
        await receiver.wait_for(3, timeout=10)
        end = iso(time.time() + 1)
        span = ("--from", start, "--to", end)
        code, out, err = await accbridge("replay", *span, "--dry-run", "--json", *config)
        assert code == 0, err
        dry = json.loads(out)
        assert (dry["state"], dry["counts"]["enqueued"], dry["dryRun"]) == ("succeeded", 3, True)
        code, out, err = await accbridge(
            "replay", *span, "--subscription", sub_id, "--pattern", '{"data": {"n": [0, 2]}}', *config
        )
        assert code == 0, err
        assert "succeeded" in out and "2 matched" in out and "queued 2 deliveries" in out
        replayed = await receiver.wait_for(5, timeout=10)
        assert sorted(r.json()["id"] for r in replayed[3:]) == sorted([ids[0], ids[2]])
        code, _, err = await accbridge("replay", *span, "--pattern", "[1]", *config)
        assert code == 2 and "--pattern" in err
        code, _, err = await accbridge("replay", "--from", end, "--to", start, *config)
        assert code == 2 and "to" in err
