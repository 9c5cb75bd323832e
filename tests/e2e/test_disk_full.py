"""A full disk: the store on a 2 MiB tmpfs is filled up while events arrive, then freed.

While writes fail, ingestion answers 503 with `Retry-After` (never 500), `/readyz` says not ready with
the reason, and the log says why once (not once per request); once space is back the server recovers
by itself, and every event it acknowledged is in the store.

Mounting a tmpfs needs root (or CAP_SYS_ADMIN); where the machine does not allow it the test is skipped
and says why."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ccbridge.testing.server import kill

if TYPE_CHECKING:
    from ccbridge.testing.servers import Servers

EVENTS = "/api/v2/eventbridge/events"
MAX_TRIES = 20_000


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted in `tmp_path`, unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        check=False,
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Writes a file until the file system is full; returns it (deleting it frees the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (65536, 4096, 512, 1):  # down to the last byte
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


def event(key: str) -> dict[str, Any]:
    return {
        "eventType": "contact.created",
        "attributes": {"key": key, "pad": "x" * 400},
        "timestamp": "2026-11-24T10:00:00.000Z",
    }


def log_lines(log: Path, message: str) -> list[dict[str, Any]]:
    found = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("event") == message:
                found.append(entry)
    return found


def stored(db: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM events")}
    finally:
        conn.close()


@pytest.mark.slow
async def test_a_full_disk_answers_503_and_recovers_with_nothing_acknowledged_lost(
    tmp_path: Path, small_disk: Path, servers: Servers
) -> None:
    db = small_disk / "ccbridge.db"
    srv = await servers.start(tmp_path, {"store": {"url": f"sqlite:///{db}"}})
    token = await srv.token()
    acked: dict[str, str] = {}
    statuses: dict[int, int] = {}
    async with httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}) as api:
        for n in range(50):  # acknowledged while there is room
            answer = await api.post(EVENTS, json=event(f"room-{n}"), headers={"Idempotency-Key": f"room-{n}"})
            assert answer.status_code == 201, answer.text
            acked[f"room-{n}"] = answer.json()["id"]
        filler = fill(small_disk)
        refused = None
        for n in range(MAX_TRIES):
            key = f"full-{n}"
            answer = await api.post(EVENTS, json=event(key), headers={"Idempotency-Key": key})
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if answer.status_code == 201:
                acked[key] = answer.json()["id"]
            else:
                refused = answer
                break
        assert refused is not None, f"the disk never filled up after {len(acked)} events"
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["Retry-After"]) >= 1
        more = [
            (await api.post(EVENTS, json=event(f"more-{n}"), headers={"Idempotency-Key": f"more-{n}"}))
            for n in range(20)
        ]
        assert {r.status_code for r in more} == {503}
        not_ready = await api.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["status"] == "unavailable" and "full" in not_ready.json()["reason"]
        failing = log_lines(
            tmp_path / "server.log", "store writes fail; answering 503 until they commit again"
        )

        filler.unlink()
        ready = await api.get("/readyz")
        after = await api.post(EVENTS, json=event("after"), headers={"Idempotency-Key": "after"})
        assert after.status_code == 201, after.text
        acked["after"] = after.json()["id"]
        recovered = log_lines(tmp_path / "server.log", "store writes commit again")
    kill(srv, signal.SIGTERM)
    print(
        f"\n{len(acked) - 51} events acknowledged after filling the disk, before the first 503; answers {statuses};"
        f" log: {len(failing)} failing line(s), {len(recovered)} recovered line(s)"
    )
    assert ready.status_code == 200, ready.text
    assert len(failing) == 1 and "full" in failing[0]["reason"]
    assert len(recovered) == 1
    assert log_lines(tmp_path / "server.log", "unhandled error") == []  # nothing logged per request
    missing = set(acked.values()) - stored(db)
    assert not missing, f"{len(missing)} acknowledged events lost"


def test_the_filler_really_fills(small_disk: Path) -> None:
    """The fixture's premise: after `fill`, nothing more can be written on the tmpfs."""
    fill(small_disk)
    fd = os.open(small_disk / "more", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError) as full:
            os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    assert full.value.errno == errno.ENOSPC
