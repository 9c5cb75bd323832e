"""Soak: mixed load with faults for `SOAK_MINUTES` (default 60), printing one line a minute (`make soak`).

A `ccbridge serve` child process on one SQLite file takes events from publishers at a steady rate and
delivers them to a receiver that cycles through healthy, failing (503) and hanging phases; the server
is killed with SIGKILL five times over the run (evenly spaced) and restarted on the same port and
file. Every minute: the server's RSS and open fds, the delivery backlog, the publish p99 of that
minute, and the counts so far. At the end the load stops, the receiver heals, and the run checks that
every acknowledged event is stored and was delivered or dead-lettered.

Exit status: 0 when nothing acknowledged was lost, 1 otherwise. Memory and fds are printed, not judged:
read the lines for a trend.

    SOAK_MINUTES=1 .venv/bin/python bench/soak.py
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from ccbridge.serve import free_port
from ccbridge.testing import Behaviour, WebhookReceiver
from ccbridge.testing.server import RunningServer, kill, start_process, wait_until

EVENTS = "/api/v2/eventbridge/events"
PUBLISHERS = 8
PAUSE = 0.02  # between one publisher's requests: a steady load, not a flood
KILLS = 5
PHASES: tuple[tuple[str, Behaviour], ...] = (
    ("healthy", Behaviour()),
    ("failing", Behaviour(status=503, retry_after="1")),
    ("hanging", Behaviour(delay=5)),
)
PHASE_SECONDS = 20.0


@dataclass
class Tally:
    acked: dict[str, str] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # this minute's, seconds
    in_doubt: int = 0
    refused: dict[int, int] = field(default_factory=dict)


def proc_figures(pid: int) -> tuple[float, int]:
    """RSS in MiB and the number of open fds of `pid`."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def backlog(srv: RunningServer) -> int:
    async with httpx.AsyncClient(base_url=srv.base_url, timeout=5) as client:
        for line in (await client.get("/metrics")).text.splitlines():
            if line.startswith("ccbridge_deliveries_pending "):
                return int(float(line.split()[1]))
    return -1


async def publisher(state: dict[str, Any], tally: Tally, worker: int, stop: asyncio.Event) -> None:
    n = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        while not stop.is_set():
            srv: RunningServer = state["srv"]
            key = f"w{worker}-{n}"
            n += 1
            body = {
                "eventType": "contact.created",
                "attributes": {"key": key},
                "timestamp": "2026-11-24T10:00:00Z",
            }
            started = time.perf_counter()
            try:
                async with session.post(
                    srv.base_url + EVENTS,
                    json=body,
                    headers={"Authorization": f"Bearer {state['token']}", "Idempotency-Key": key},
                ) as response:
                    if response.status in (200, 201):
                        tally.acked[key] = (await response.json())["id"]
                        tally.latencies.append(time.perf_counter() - started)
                    else:
                        tally.refused[response.status] = tally.refused.get(response.status, 0) + 1
            except (aiohttp.ClientError, TimeoutError):
                tally.in_doubt += 1
                await asyncio.sleep(0.2)  # the server is restarting
            await asyncio.sleep(PAUSE)


async def phases(receiver: WebhookReceiver, stop: asyncio.Event) -> None:
    turn = 0
    while not stop.is_set():
        receiver.behave(PHASES[turn % len(PHASES)][1])
        turn += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PHASE_SECONDS)
    receiver.behave(Behaviour())


async def report(srv: RunningServer, tally: Tally, minute: int, kills: int) -> None:
    """One line: the server's RSS and fds, the backlog, this minute's publish p99, counts so far."""
    assert srv.process is not None
    rss, fds = proc_figures(srv.process.pid)
    latencies, tally.latencies = tally.latencies, []
    print(
        f"{minute:>6}  {rss:>7.1f}  {fds:>3}  {await backlog(srv):>7}  {p99(latencies) * 1000:>6.1f}"
        f"  {len(tally.acked):>5}  {tally.in_doubt:>8}  {kills:>5}  {tally.refused}",
        flush=True,
    )


def stored(db: Path, ids: set[str]) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM events")} & ids
    finally:
        conn.close()


def settled(db: Path) -> tuple[int, int, int]:
    """(delivered, dead, pending) deliveries of the soak subscription's events."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        counts = dict(conn.execute("SELECT state, count(*) FROM deliveries WHERE kind = 'event' GROUP BY 1"))
        return counts.get("delivered", 0), counts.get("dead", 0), counts.get("pending", 0)
    finally:
        conn.close()


async def soak(minutes: float, folder: Path) -> int:
    duration = minutes * 60
    port = free_port()
    overrides = {"delivery": {"timeout_seconds": 2, "lease_seconds": 6}, "logging": {"level": "error"}}
    async with WebhookReceiver() as receiver:
        srv = await asyncio.to_thread(start_process, folder, overrides, port)
        state: dict[str, Any] = {"srv": srv, "token": await srv.token()}
        async with httpx.AsyncClient(base_url=srv.base_url) as api:
            created = await api.post(
                "/api/v2/eventbridge/subscriptions",
                headers={"Authorization": f"Bearer {state['token']}"},
                json={
                    "name": "soak",
                    "eventType": "contact.created",
                    "endpoints": [{"url": receiver.url}],
                    "retryConfiguration": {"maxRetries": 20, "initialDelayMs": 200, "maxDelayMs": 3000},
                },
            )
            created.raise_for_status()
        tally, stop = Tally(), asyncio.Event()
        tasks = [asyncio.create_task(publisher(state, tally, w, stop)) for w in range(PUBLISHERS)]
        tasks.append(asyncio.create_task(phases(receiver, stop)))
        started = time.monotonic()
        kill_at = [duration * (k + 1) / (KILLS + 1) for k in range(KILLS)]
        next_report, minute, kills = 60.0, 0, 0
        print("minute  rss_mib  fds  backlog  p99_ms  acked  in_doubt  kills  refused", flush=True)
        while (elapsed := time.monotonic() - started) < duration:
            if kill_at and elapsed >= kill_at[0]:
                kill_at.pop(0)
                await asyncio.to_thread(kill, state["srv"], signal.SIGKILL)
                state["srv"] = await asyncio.to_thread(start_process, folder, overrides, port)
                kills += 1
            if elapsed >= next_report:
                minute += 1
                next_report += 60
                await report(state["srv"], tally, minute, kills)
            await asyncio.sleep(0.5)
        if minute < math.ceil(minutes):  # the last (or only) minute's line
            await report(state["srv"], tally, minute + 1, kills)
        stop.set()
        await asyncio.gather(*tasks)
        srv = state["srv"]

        async def drained() -> bool:
            return await backlog(srv) == 0

        await wait_until(drained, timeout=120, interval=1)  # the receiver is healthy again
        left = await backlog(srv)
        await asyncio.to_thread(kill, srv, signal.SIGTERM)
    db = folder / "ccbridge.db"
    ids = set(tally.acked.values())
    missing = ids - stored(db, ids)
    delivered, dead, pending = settled(db)
    print(
        f"soak {minutes:g} min: {len(ids)} acknowledged, {len(missing)} lost, {kills} kills;"
        f" deliveries {delivered} delivered, {dead} dead-lettered, {pending} pending ({left} at the end"
        f" of the drain); {len(receiver.received)} requests received",
        flush=True,
    )
    return 1 if missing else 0


def main() -> int:
    minutes = float(os.environ.get("SOAK_MINUTES", "60"))
    with tempfile.TemporaryDirectory(prefix="ccbridge-soak-") as folder:
        return asyncio.run(soak(minutes, Path(folder)))


if __name__ == "__main__":
    sys.exit(main())
