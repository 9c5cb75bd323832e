"""The CPU a server spends while it holds 100,000 pending retries and none is due: it should sleep
until the earliest is due, not scan or poll them. Measured from the child process's own CPU time
(/proc) over a few seconds and printed; not asserted on, since the machine's load is not ours."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from ccbridge.core.routing import SubscriptionRouter
from ccbridge.stores import records
from ccbridge.stores.sqlite import SqliteStore
from ccbridge.testing.samples import sample_event, sample_subscription

if TYPE_CHECKING:
    from ccbridge.testing.servers import Servers

RETRIES = 100_000
WINDOW_SECONDS = 3.0


async def hold_retries(db: Path, n: int) -> None:
    """`n` events with one delivery each, already tried once and due in an hour (written below the
    API, in one transaction: the point is what the server does with them, not how they got there)."""
    store = SqliteStore(str(db), SubscriptionRouter())
    await store.open()
    await store.create_subscription(sample_subscription("s1", "later", urls=["http://127.0.0.1:9/x"]), 10)
    await store.close()
    now = time.time()
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.executemany(
                f"INSERT INTO events({records.EVENT_COLUMNS}, received_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                ((*records.event_params(sample_event(i)), now) for i in range(n)),
            )
            conn.executemany(
                "INSERT INTO deliveries(event_id, subscription_id, endpoint_url, endpoint_type, attempts,"
                " next_attempt_at, last_error, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    (f"evt-{i}", "s1", "http://127.0.0.1:9/x", "webhook", 1, now + 3600, "HTTP 503", now, now)
                    for i in range(n)
                ),
            )
    finally:
        conn.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
async def test_idle_cpu_with_100000_pending_retries(tmp_path: Path, servers: Servers) -> None:
    await hold_retries(tmp_path / "ccbridge.db", RETRIES)
    srv = await servers.start(tmp_path)
    assert srv.process is not None
    async with httpx.AsyncClient(base_url=srv.base_url) as client:
        await asyncio.sleep(1.0)  # past startup's own work (migrations, first housekeeping delay)
        cpu_before, wall_before = cpu_seconds(srv.process.pid), time.monotonic()
        await asyncio.sleep(WINDOW_SECONDS)
        cpu, wall = cpu_seconds(srv.process.pid) - cpu_before, time.monotonic() - wall_before
        scraped = (await client.get("/metrics")).text
    pending = next(
        float(line.split()[1])
        for line in scraped.splitlines()
        if line.startswith("ccbridge_deliveries_pending ")
    )
    print(f"\nidle CPU with {RETRIES} pending retries: {100 * cpu / wall:.2f}% of a core over {wall:.1f} s")
    assert pending == RETRIES  # all still held
